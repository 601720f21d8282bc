//! What a Go program gets from `os`, `os/exec` and `os/signal`: the
//! standard streams, child processes, signals and files, for goroutines.
//! Exposed at the crate's root as [`crate::io`], [`crate::process`],
//! [`crate::signal`] and [`crate::fs`].
//!
//! | file | Go's name | what it is | where the work runs |
//! | --- | --- | --- | --- |
//! | `stdio.rs` ([`crate::io`]) | `os.Stdin`, `os.Stdout`, `os.Stderr` | `stdin()`, `stdout()`, `stderr()` as futures-io types | stdin: the blocking pool (cancellable; no `O_NONBLOCK` on a shared fd); stdout, stderr: inline `gpm::syscall` writes |
//! | `process/` ([`crate::process`]) | `os/exec` | `Command`, `Child` (`mod.rs`), its pipes (`pipe.rs`) | pipes and the exit (a pidfd, Linux) on the netpoller; elsewhere the exit on the blocking pool |
//! | `signal.rs` ([`crate::signal`]) | `os/signal` | `notify`, `stop`, `reset` to a gpm channel | `signal-hook`'s handler and self-pipe; one process-wide thread makes the non-blocking sends |
//! | `fs.rs` ([`crate::fs`]) | `os.ReadFile`, `os.Open`... | `read`, `write`, `File`, `create_dir_all`, `metadata`... | the blocking pool |
//! | `blocking.rs` | | futures-io over a blocking reader or writer, a job per transfer (stdin, files) | the blocking pool |
//!
//! Like the rest of the crate, these use the scheduler only through its
//! interface: `spawn_blocking`, `syscall`, and the netpoller by way of
//! `net`'s registered sockets.

mod blocking;
pub mod fs;
pub mod process;
pub mod signal;
pub mod stdio;
