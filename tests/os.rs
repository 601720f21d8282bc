//! Go's `os` packages on gpm: `gpm::io` (stdin, stdout, stderr),
//! `gpm::process` (`exec.Command`), `gpm::signal` (`signal.Notify`) and
//! `gpm::fs`.
//!
//! Stdin and stdout are tested through a child: this test binary run again
//! with `GPM_OS_CHILD` set, so that its `child_*` test reads the pipe the
//! parent writes. Synchronisation is by the data itself (pipes, channels),
//! never by sleeping.

use futures::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, StreamExt};
use gpm::process::{Command, Stdio};
use gpm::runtime::Runtime;
use std::time::{Duration, Instant};

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn stdin_and_stdout_through_a_child() { super::watchdog(|| super::stdin_and_stdout_through_a_child(rt())) }
            #[test] fn stdin_read_cancelled_loses_nothing() { super::watchdog(|| super::stdin_read_cancelled_loses_nothing(rt())) }
            #[test] fn output_status_and_exit_codes() { super::watchdog(|| super::output_status_and_exit_codes(rt())) }
            #[test] fn pipes_carry_a_megabyte_both_ways() { super::watchdog(|| super::pipes_carry_a_megabyte_both_ways(rt())) }
            #[test] fn kill_and_wait_in_io_wait() { super::watchdog(|| super::kill_and_wait_in_io_wait(rt())) }
            #[test] fn files() { super::watchdog(|| super::files(rt())) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// How long any test may take before it fails (only hangs reach it).
const HANG: Duration = Duration::from_secs(60);

/// Runs `f` on a thread; fails if it does not finish within `HANG`.
fn watchdog(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(HANG) {
        Ok(()) => t.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = t.join() {
                std::panic::resume_unwind(e)
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("test hung for {HANG:?}"),
    }
}

/// A temporary directory for one test.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gpm-os-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// In the child (`GPM_OS_CHILD=1`): reads stdin line by line with
/// `gpm::io::stdin`, writes each line upper-cased to `gpm::io::stdout`
/// (marked, to tell it from the test harness's own output) and a count to
/// stderr. In a normal run: does nothing.
#[test]
fn child_stdin_upper() {
    if std::env::var_os("GPM_OS_CHILD").is_none() {
        return;
    }
    Runtime::new().unwrap().block_on(async {
        let mut lines = futures::io::BufReader::new(gpm::io::stdin()).lines();
        let mut out = gpm::io::stdout();
        let mut n = 0;
        while let Some(line) = lines.next().await {
            out.write_all(format!("OUT:{}\n", line.unwrap().to_uppercase()).as_bytes())
                .await
                .unwrap();
            n += 1;
        }
        out.flush().await.unwrap();
        gpm::io::stderr()
            .write_all(format!("ERR:{n} lines\n").as_bytes())
            .await
            .unwrap();
    });
}

/// In the child (`GPM_OS_CHILD=1`): a read of stdin cancelled by a
/// timeout loses nothing: the parent writes only after the child says so,
/// and the same `Stdin` then reads it.
#[test]
fn child_stdin_cancelled_read() {
    if std::env::var_os("GPM_OS_CHILD").is_none() {
        return;
    }
    Runtime::new().unwrap().block_on(async {
        let mut stdin = gpm::io::stdin();
        let mut buf = [0; 64];
        // Nothing comes until "READY" is out: the read times out.
        let r = gpm::time::timeout(Duration::from_millis(20), stdin.read(&mut buf)).await;
        assert!(r.is_err(), "a read with no input finished: {r:?}");
        let mut out = gpm::io::stdout();
        out.write_all(b"\nREADY\n").await.unwrap();
        out.flush().await.unwrap();
        let mut text = String::new();
        stdin.read_to_string(&mut text).await.unwrap();
        out.write_all(format!("\nGOT:{text}\n").as_bytes()).await.unwrap();
        out.flush().await.unwrap();
    });
}

fn stdin_read_cancelled_loses_nothing(rt: Runtime) {
    rt.block_on(async {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_stdin_cancelled_read",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GPM_OS_CHILD", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = futures::io::BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().await.expect("the child ended before READY").unwrap();
            if line == "READY" {
                break;
            }
        }
        stdin.write_all(b"after the timeout").await.unwrap();
        drop(stdin);
        let mut got = None;
        while let Some(line) = lines.next().await {
            if let Some(text) = line.unwrap().strip_prefix("GOT:") {
                got = Some(text.to_owned());
            }
        }
        assert_eq!(got.as_deref(), Some("after the timeout"));
        assert!(child.wait().await.unwrap().success());
    });
}

fn stdin_and_stdout_through_a_child(rt: Runtime) {
    rt.block_on(async {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_stdin_upper", "--nocapture", "--test-threads=1"])
            .env("GPM_OS_CHILD", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Enough lines that the child reads stdin in several pieces.
        let writer = gpm::spawn(async move {
            for i in 0..2000 {
                stdin.write_all(format!("line {i}\n").as_bytes()).await.unwrap();
            }
            // Dropped: the child reads EOF.
        });
        let out = child.wait_with_output().await.unwrap();
        writer.await.unwrap();
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        // (The harness's "test child_stdin_upper ... " may start the first.)
        let got: Vec<&str> = stdout.lines().filter_map(|l| l.find("OUT:").map(|i| &l[i..])).collect();
        assert_eq!(got.len(), 2000, "{stdout}");
        for (i, line) in got.iter().enumerate() {
            assert_eq!(*line, format!("OUT:LINE {i}"));
        }
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("ERR:2000 lines"), "{stderr}");
    });
}

fn output_status_and_exit_codes(rt: Runtime) {
    rt.block_on(async {
        let out = Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert!(Command::new("true").status().await.unwrap().success());
        let status = Command::new("sh")
            .args(["-c", "exit 5"])
            .stdout(Stdio::null())
            .status()
            .await
            .unwrap();
        assert_eq!(status.code(), Some(5));
        let e = Command::new("/surely/not/a/program").spawn().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        // Many children at once, each waited for by its own goroutine.
        let waits: Vec<_> = (0..20)
            .map(|i| {
                gpm::spawn(async move {
                    let out = Command::new("sh")
                        .args(["-c", &format!("echo {i}; exit {}", i % 7)])
                        .output()
                        .await
                        .unwrap();
                    (out.status.code(), out.stdout)
                })
            })
            .collect();
        for (i, w) in waits.into_iter().enumerate() {
            let (code, stdout) = w.await.unwrap();
            assert_eq!(code, Some(i as i32 % 7));
            assert_eq!(stdout, format!("{i}\n").into_bytes());
        }
    });
}

fn pipes_carry_a_megabyte_both_ways(rt: Runtime) {
    rt.block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut stdin = child.stdin.take().unwrap();
        let writer = gpm::spawn({
            let data = data.clone();
            async move {
                // More than a pipe holds: the writer waits for cat to read.
                stdin.write_all(&data).await.unwrap();
                stdin.close().await.unwrap();
            }
        });
        let mut back = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert!(back == data, "cat gave back {} bytes, not the same", back.len());
        assert!(child.wait().await.unwrap().success());
    });
}

fn kill_and_wait_in_io_wait(rt: Runtime) {
    rt.block_on(async {
        use std::os::unix::process::ExitStatusExt;
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        assert!(child.try_wait().unwrap().is_none());
        let pid = child.id();
        let waiter = gpm::spawn(async move {
            let status = child.wait().await.unwrap();
            (status, child)
        });
        // The waiter waits on the child's pidfd in the netpoller (Linux),
        // without a thread; elsewhere on the blocking pool.
        if cfg!(target_os = "linux") {
            let give_up = Instant::now() + HANG;
            while !gpm::runtime::dump().contains("[IO wait]") {
                assert!(Instant::now() < give_up, "{}", gpm::runtime::dump());
                gpm::yield_now().await;
            }
        }
        // SAFETY: kill(2) with a pid and a signal number; `pid` is our
        // child, not yet reaped (the waiter has not returned).
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) }, 0);
        let (status, mut child) = waiter.await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        // Waiting again gives the same status; kill after the exit is fine.
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGTERM));
        child.kill().unwrap();
        // kill() itself.
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

fn files(rt: Runtime) {
    rt.block_on(async {
        let dir = temp_dir(&format!("files-{}", gpm::runtime::gomaxprocs()));
        gpm::fs::create_dir_all(dir.join("a/b")).await.unwrap();
        assert!(gpm::fs::metadata(dir.join("a/b")).await.unwrap().is_dir());
        let path = dir.join("a/b/data");
        gpm::fs::write(&path, "hello\nworld\n").await.unwrap();
        assert_eq!(gpm::fs::read_to_string(&path).await.unwrap(), "hello\nworld\n");
        assert_eq!(gpm::fs::metadata(&path).await.unwrap().len(), 12);
        // A file, by lines (Go's bufio.Scanner over an os.File).
        let f = gpm::fs::File::open(&path).await.unwrap();
        let lines: Vec<String> = futures::io::BufReader::new(f)
            .lines()
            .map(|l| l.unwrap())
            .collect()
            .await;
        assert_eq!(lines, ["hello", "world"]);
        // Large writes, in order, then read back in small pieces.
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let mut f = gpm::fs::File::create(dir.join("big")).await.unwrap();
        for chunk in big.chunks(10_000) {
            f.write_all(chunk).await.unwrap();
        }
        f.close().await.unwrap();
        let mut f = gpm::fs::File::open(dir.join("big")).await.unwrap();
        let mut back = Vec::new();
        let mut buf = [0; 1000];
        loop {
            match f.read(&mut buf).await.unwrap() {
                0 => break,
                n => back.extend_from_slice(&buf[..n]),
            }
        }
        assert!(back == big);
        // Read, then write: the bytes read ahead are given back, so the
        // write lands right after what was read.
        let mut options = gpm::fs::OpenOptions::new();
        options.read(true).write(true);
        let mut f = gpm::fs::File::open_with(&path, options).await.unwrap();
        let mut five = [0; 5];
        f.read_exact(&mut five).await.unwrap();
        assert_eq!(&five, b"hello");
        f.write_all(b",").await.unwrap();
        assert_eq!(f.seek(std::io::SeekFrom::Current(0)).await.unwrap(), 6);
        f.sync_all().await.unwrap();
        assert_eq!(gpm::fs::read_to_string(&path).await.unwrap(), "hello,world\n");
        // The other functions.
        gpm::fs::rename(&path, dir.join("moved")).await.unwrap();
        assert_eq!(gpm::fs::copy(dir.join("moved"), dir.join("copy")).await.unwrap(), 12);
        let mut names: Vec<_> = gpm::fs::read_dir(&dir)
            .await
            .unwrap()
            .iter()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "big", "copy", "moved"]);
        gpm::fs::remove_file(dir.join("copy")).await.unwrap();
        let e = gpm::fs::read(dir.join("copy")).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        gpm::fs::remove_dir_all(&dir).await.unwrap();
        assert!(gpm::fs::metadata(&dir).await.is_err());
    });
}

/// In the child (`GPM_OS_CHILD=1`): SIGTERM asked for does not end the
/// process, and is received; after `stop`, it ends the process again (its
/// default action, emulated).
#[test]
fn child_sigterm_default_comes_back() {
    if std::env::var_os("GPM_OS_CHILD").is_none() {
        return;
    }
    Runtime::new().unwrap().block_on(async {
        let c = gpm::chan(1);
        gpm::signal::notify(&c, &[libc::SIGTERM]).unwrap();
        raise(libc::SIGTERM);
        assert_eq!(c.recv().await, Some(libc::SIGTERM));
        println!("\nSURVIVED");
        gpm::signal::stop(&c);
        raise(libc::SIGTERM);
        // The dispatcher thread ends the process; until then, wait.
        gpm::time::sleep(Duration::from_secs(30)).await;
        println!("\nSTILL ALIVE");
    });
}

#[test]
fn stopped_signal_gets_its_default_action_back() {
    watchdog(|| {
        Runtime::new().unwrap().block_on(async {
            use std::os::unix::process::ExitStatusExt;
            let out = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "child_sigterm_default_comes_back",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("GPM_OS_CHILD", "1")
                .output()
                .await
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("\nSURVIVED"), "{stdout}");
            assert!(!stdout.contains("STILL ALIVE"), "{stdout}");
            assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{out:?}");
        });
    });
}

/// Signals are the process's: every signal case is in this one test, so
/// that no two tests share a signal.
#[test]
fn signals_reach_channels() {
    watchdog(|| {
        Runtime::new().unwrap().block_on(async {
            use gpm::signal::{self, SIGUSR1, SIGUSR2};
            let c = gpm::chan(1);
            signal::notify(&c, &[SIGUSR1]).unwrap();
            raise(SIGUSR1);
            assert_eq!(c.recv().await, Some(SIGUSR1));

            // A full channel drops the signal (Go's non-blocking send).
            // `witness` gets every one, so that we know each was handled.
            let witness = gpm::chan(8);
            signal::notify(&witness, &[SIGUSR1, SIGUSR2]).unwrap();
            signal::notify(&c, &[SIGUSR1]).unwrap(); // again: no second entry
            raise(SIGUSR1);
            assert_eq!(witness.recv().await, Some(SIGUSR1));
            raise(SIGUSR1);
            assert_eq!(witness.recv().await, Some(SIGUSR1));
            assert_eq!(c.len(), 1, "the second SIGUSR1 found c full");
            assert_eq!(c.try_recv().ok(), Some(SIGUSR1));

            // Only the signals asked for.
            raise(SIGUSR2);
            assert_eq!(witness.recv().await, Some(SIGUSR2));
            assert!(c.is_empty());

            // After stop, nothing more reaches c.
            signal::stop(&c);
            raise(SIGUSR1);
            assert_eq!(witness.recv().await, Some(SIGUSR1));
            assert!(c.is_empty());

            // A goroutine waiting on the channel is woken by a signal.
            let waiter = gpm::spawn({
                let witness = witness.clone();
                async move { witness.recv().await }
            });
            let give_up = Instant::now() + HANG;
            while !gpm::runtime::dump().contains("[chan receive]") {
                assert!(Instant::now() < give_up, "{}", gpm::runtime::dump());
                gpm::yield_now().await;
            }
            raise(SIGUSR2);
            assert_eq!(waiter.await.unwrap(), Some(SIGUSR2));

            // Errors.
            assert!(signal::notify(&c, &[]).is_err());
            assert!(signal::notify(&c, &[libc::SIGKILL]).is_err());
            // Keep `witness` wanting both signals: with no channel left, a
            // signal would get its default action (ending the process).
            signal::reset(&[]);
            signal::notify(&witness, &[SIGUSR1, SIGUSR2]).unwrap();
        });
    });
}

/// Sends `signal` to this process (its calling thread).
fn raise(signal: i32) {
    // SAFETY: raise(3) takes a signal number; the signals raised here have
    // handlers (gpm::signal's), so the process goes on.
    assert_eq!(unsafe { libc::raise(signal) }, 0);
}
