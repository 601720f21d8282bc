//! Child processes (Go's `os/exec`): [`Command`] builds one, [`Child`]
//! is one running, with its pipes as futures-io types.
//!
//! ```
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! use gpm::process::Command;
//!
//! // Go: out, err := exec.Command("echo", "hello").Output()
//! let out = Command::new("echo").arg("hello").output().await.unwrap();
//! assert!(out.status.success());
//! assert_eq!(out.stdout, b"hello\n");
//! # });
//! ```
//!
//! # Where the work runs, and why
//! - **Starting** a child is std's `Command::spawn` (a `fork`/`exec` or
//!   `posix_spawn`, quick), inline.
//! - **The pipes are on the netpoller.** A piped stdin, stdout or stderr
//!   is a pipe that gpm created, so it is set `O_NONBLOCK` (the flag is on
//!   gpm's end only: the child's end is another open file) and registered
//!   like a socket: a goroutine waiting for the child's output waits in
//!   `IO wait`, holding no thread. (Not `async-process`: it runs its pipes
//!   and its reaper on `async-io`'s reactor thread, a second event loop
//!   beside gpm's.)
//! - **Waiting for the exit** uses a `pidfd` on Linux 5.3 and later: a
//!   file descriptor for the child that becomes readable when it exits,
//!   registered with the netpoller too; `wait` waits in `IO wait` and then
//!   reaps the child with a non-blocking `waitpid`. Elsewhere (other Unix
//!   systems, older kernels) `wait` runs a `waitid(WNOWAIT)` job on the
//!   blocking pool (a thread held until the child exits), then reaps.
//!   No `SIGCHLD` handler is installed: the process's signal dispositions
//!   are left alone.
//!
//! A [`Child`] dropped without `wait` keeps running, and stays a zombie
//! until the process exits (as with std and Go); [`Child::kill`] first if
//! it should stop.

use crate::net::Registered;
use crate::sched::Direction;
use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use std::task::{Context, Poll};

mod pipe;

pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

use pipe::Pipe;

/// A process to start (Go's `exec.Cmd`): a program, its arguments,
/// environment and working directory, and what its stdin, stdout and
/// stderr are. The builder methods are std's.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let status = gpm::process::Command::new("sh")
///     .args(["-c", "exit 3"])
///     .status()
///     .await
///     .unwrap();
/// assert_eq!(status.code(), Some(3));
/// # });
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
}

impl Command {
    /// A command to run `program` (looked up in `PATH` if it has no `/`),
    /// with no arguments, the environment and working directory of this
    /// process, and stdin, stdout and stderr inherited.
    ///
    /// ```
    /// let cmd = gpm::process::Command::new("true");
    /// assert_eq!(cmd.as_std().get_program(), "true");
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
        }
    }

    /// Adds an argument.
    ///
    /// ```
    /// let mut cmd = gpm::process::Command::new("ls");
    /// cmd.arg("-l");
    /// assert_eq!(cmd.as_std().get_args().count(), 1);
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    ///
    /// ```
    /// let mut cmd = gpm::process::Command::new("ls");
    /// cmd.args(["-l", "-a"]);
    /// assert_eq!(cmd.as_std().get_args().count(), 2);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let out = gpm::process::Command::new("sh")
    ///     .args(["-c", "echo $GREETING"])
    ///     .env("GREETING", "hi")
    ///     .output()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(out.stdout, b"hi\n");
    /// # });
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables for the child.
    ///
    /// ```
    /// let mut cmd = gpm::process::Command::new("env");
    /// cmd.envs([("A", "1"), ("B", "2")]);
    /// assert_eq!(cmd.as_std().get_envs().count(), 2);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// ```
    /// let mut cmd = gpm::process::Command::new("env");
    /// cmd.env_remove("HOME");
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (but for what `env`
    /// adds).
    ///
    /// ```
    /// let mut cmd = gpm::process::Command::new("env");
    /// cmd.env_clear().env("ONLY", "this");
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let out = gpm::process::Command::new("pwd").current_dir("/").output().await.unwrap();
    /// assert_eq!(out.stdout, b"/\n");
    /// # });
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's stdin: [`Stdio::piped`] makes [`Child::stdin`] a
    /// writer.
    ///
    /// ```
    /// use gpm::process::{Command, Stdio};
    /// let mut cmd = Command::new("cat");
    /// cmd.stdin(Stdio::piped()).stdout(Stdio::null());
    /// ```
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// Sets the child's stdout: [`Stdio::piped`] makes [`Child::stdout`] a
    /// reader.
    ///
    /// ```
    /// use gpm::process::{Command, Stdio};
    /// let mut cmd = Command::new("ls");
    /// cmd.stdout(Stdio::piped());
    /// ```
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Sets the child's stderr: [`Stdio::piped`] makes [`Child::stderr`] a
    /// reader.
    ///
    /// ```
    /// use gpm::process::{Command, Stdio};
    /// let mut cmd = Command::new("ls");
    /// cmd.stderr(Stdio::null());
    /// ```
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// The std command inside, for what this type does not forward.
    ///
    /// ```
    /// let cmd = gpm::process::Command::new("ls");
    /// assert_eq!(cmd.as_std().get_program(), "ls");
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, to change (e.g. `std::os::unix`'s
    /// `CommandExt`).
    ///
    /// ```
    /// let mut cmd = gpm::process::Command::new("ls");
    /// cmd.as_std_mut().arg("-a");
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child (Go's `cmd.Start`). Its piped stdin, stdout and
    /// stderr are registered with the current runtime's netpoller.
    ///
    /// ```
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    /// use gpm::process::{Command, Stdio};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    /// let mut stdin = child.stdin.take().unwrap();
    /// stdin.write_all(b"through cat").await.unwrap();
    /// drop(stdin); // EOF for cat
    /// let mut text = String::new();
    /// child.stdout.take().unwrap().read_to_string(&mut text).await.unwrap();
    /// assert_eq!(text, "through cat");
    /// assert!(child.wait().await.unwrap().success());
    /// # });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let mut child = self.std.spawn()?;
        let wrap = |child: &mut std::process::Child| -> io::Result<Child> {
            Ok(Child {
                stdin: child
                    .stdin
                    .take()
                    .map(|p| Pipe::new(p.into()))
                    .transpose()?
                    .map(|p| ChildStdin { pipe: Some(p) }),
                stdout: child
                    .stdout
                    .take()
                    .map(|p| Pipe::new(p.into()))
                    .transpose()?
                    .map(|pipe| ChildStdout { pipe }),
                stderr: child
                    .stderr
                    .take()
                    .map(|p| Pipe::new(p.into()))
                    .transpose()?
                    .map(|pipe| ChildStderr { pipe }),
                exit: Exit::open(child.id())?,
                child: None,
            })
        };
        match wrap(&mut child) {
            Ok(mut c) => {
                c.child = Some(child);
                Ok(c)
            }
            Err(e) => {
                // No runtime (or no poller): do not leave the child behind.
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// Runs the child to the end and collects its stdout and stderr (Go's
    /// `cmd.Output`, with stderr too, like `CombinedOutput` kept apart).
    /// Its stdin is null and its stdout and stderr are piped, whatever was
    /// set before.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let out = gpm::process::Command::new("sh")
    ///     .args(["-c", "echo out; echo err >&2; exit 1"])
    ///     .output()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(out.status.code(), Some(1));
    /// assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    /// # });
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.spawn()?.wait_with_output().await
    }

    /// Runs the child to the end and returns its exit status (Go's
    /// `cmd.Run`); its stdin, stdout and stderr are as set (inherited by
    /// default).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let status = gpm::process::Command::new("true").status().await.unwrap();
    /// assert!(status.success());
    /// # });
    /// ```
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        child.wait().await
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command { std }
    }
}

/// How `wait` learns that the child exited.
enum Exit {
    /// A pidfd on the netpoller (Linux 5.3+).
    Pidfd(Registered<OwnedFd>),
    /// `waitid(WNOWAIT)` on the blocking pool.
    Pool,
}

impl Exit {
    fn open(pid: u32) -> io::Result<Exit> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: pidfd_open takes a pid and flags and returns a new fd
            // or -1; no pointers.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
            if fd >= 0 {
                let Ok(fd) = i32::try_from(fd) else {
                    return Ok(Exit::Pool);
                };
                // SAFETY: `fd` was just returned by pidfd_open: an open fd
                // that nothing else owns.
                let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
                return Ok(Exit::Pidfd(Registered::new(fd)?));
            }
        }
        let _ = pid;
        // Make sure a runtime is there (for the pool), as with a pidfd.
        crate::runtime::Handle::try_current()
            .map(|_| Exit::Pool)
            .ok_or_else(|| io::Error::other("gpm::process used outside a gpm runtime"))
    }
}

/// A running child process (Go's `exec.Cmd` after `Start`, and its
/// `os.Process`), from [`Command::spawn`].
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut child = gpm::process::Command::new("sleep").arg("1000").spawn().unwrap();
/// child.kill().unwrap();
/// let status = child.wait().await.unwrap();
/// assert!(!status.success());
/// # });
/// ```
pub struct Child {
    /// The writer to the child's stdin, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The reader of the child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The reader of the child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    exit: Exit,
    /// std's child (always there once spawned).
    child: Option<std::process::Child>,
}

impl Child {
    fn std(&mut self) -> &mut std::process::Child {
        self.child.as_mut().expect("a spawned child")
    }

    /// The child's process id.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut child = gpm::process::Command::new("true").spawn().unwrap();
    /// assert!(child.id() > 0);
    /// child.wait().await.unwrap();
    /// # });
    /// ```
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// Kills the child with `SIGKILL` (Go's `Process.Kill`); does nothing
    /// if it has exited and been waited for. `wait` still reaps it.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::os::unix::process::ExitStatusExt;
    /// let mut child = gpm::process::Command::new("sleep").arg("1000").spawn().unwrap();
    /// child.kill().unwrap();
    /// assert_eq!(child.wait().await.unwrap().signal(), Some(9));
    /// # });
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        self.std().kill()
    }

    /// The exit status if the child has exited, without waiting.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut child = gpm::process::Command::new("sleep").arg("1000").spawn().unwrap();
    /// assert!(child.try_wait().unwrap().is_none());
    /// child.kill().unwrap();
    /// child.wait().await.unwrap();
    /// assert!(child.try_wait().unwrap().is_some());
    /// # });
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.std().try_wait()
    }

    /// Waits for the child to exit (Go's `cmd.Wait`) and returns its
    /// status; closes its stdin first, so that a child reading it sees
    /// EOF. The goroutine waits in `IO wait` on the child's pidfd (Linux;
    /// elsewhere a blocking-pool job waits). Cancel safe: waiting again
    /// later works, and after the exit it returns the same status.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut child = gpm::process::Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
    /// assert_eq!(child.wait().await.unwrap().code(), Some(7));
    /// # });
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let child = self.child.as_mut().expect("a spawned child");
        match &self.exit {
            Exit::Pidfd(fd) => {
                std::future::poll_fn(|cx| {
                    fd.poll_io(cx, Direction::Read, |_| match child.try_wait()? {
                        Some(status) => Ok(status),
                        None => Err(io::ErrorKind::WouldBlock.into()),
                    })
                })
                .await
            }
            Exit::Pool => {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                let pid = child.id() as libc::id_t;
                crate::spawn_blocking(move || wait_no_reap(pid))
                    .await
                    .map_err(|e| io::Error::other(e.to_string()))??;
                child.wait()
            }
        }
    }

    /// Waits for the child to exit and collects its piped stdout and
    /// stderr (read at the same time, so that neither pipe fills up).
    ///
    /// ```
    /// use gpm::process::{Command, Stdio};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn().unwrap();
    /// let out = child.wait_with_output().await.unwrap();
    /// assert_eq!(out.stdout, b"hi\n");
    /// assert!(out.stderr.is_empty()); // not piped
    /// # });
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        std::future::poll_fn(|cx| {
            let a = drain(cx, stdout.as_ref().map(|p| &p.pipe), &mut out)?;
            let b = drain(cx, stderr.as_ref().map(|p| &p.pipe), &mut err)?;
            if a.is_ready() {
                stdout = None;
            }
            if b.is_ready() {
                stderr = None;
            }
            if a.is_ready() && b.is_ready() {
                Poll::Ready(Ok::<(), io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }
}

/// Reads `pipe` to its end into `into`; `Ready(())` at the end (or with no
/// pipe).
fn drain(cx: &mut Context<'_>, pipe: Option<&Pipe>, into: &mut Vec<u8>) -> io::Result<Poll<()>> {
    let Some(pipe) = pipe else {
        return Ok(Poll::Ready(()));
    };
    let mut buf = [0; 8192];
    loop {
        match pipe.poll_read(cx, &mut buf) {
            Poll::Ready(Ok(0)) => return Ok(Poll::Ready(())),
            Poll::Ready(Ok(n)) => into.extend_from_slice(&buf[..n]),
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => return Ok(Poll::Pending),
        }
    }
}

/// Waits (on a pool thread) until child `pid` has exited, leaving it to be
/// reaped.
fn wait_no_reap(pid: libc::id_t) -> io::Result<()> {
    loop {
        // SAFETY: an all-zero `siginfo_t` is a valid value (plain integers
        // and a union of them).
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable `siginfo_t` for the call.
        let r = unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child").field("id", &self.id()).finish_non_exhaustive()
    }
}

#[cfg(all(test, not(miri), not(loom)))]
mod tests {
    use super::*;

    /// The fallback of systems without pidfds: `wait` on the blocking pool
    /// (`waitid(WNOWAIT)`, then a reap), forced here on Linux.
    #[test]
    fn wait_on_the_blocking_pool() {
        let rt = crate::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            use std::os::unix::process::ExitStatusExt;
            let mut child = Command::new("sh").args(["-c", "exit 4"]).spawn().unwrap();
            child.exit = Exit::Pool;
            assert_eq!(child.wait().await.unwrap().code(), Some(4));
            // Waiting again: the status std kept.
            assert_eq!(child.wait().await.unwrap().code(), Some(4));
            let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
            child.exit = Exit::Pool;
            child.kill().unwrap();
            assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
        });
    }
}
