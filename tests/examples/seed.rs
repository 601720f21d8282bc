//! The seed's four programs (`examples/seed_*.rs`), run as the binaries
//! `cargo test` builds, with their output checked against Go's.

use crate::example;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs an example, killing it after 60 s (a hang is a failure).
fn run(name: &str, procs: Option<&str>) -> Output {
    let mut cmd = Command::new(example(name));
    if let Some(p) = procs {
        cmd.env("GOMAXPROCS", p);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{name} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn assert_deadlock(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.starts_with("fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan send]:\nmain at "),
        "{stderr}"
    );
}

#[test]
fn send_without_receiver_deadlocks() {
    for procs in ["1", "2", "4"] {
        assert_deadlock(&run("seed_deadlock", Some(procs)));
    }
}

#[test]
fn receiver_started_after_the_send_deadlocks() {
    for procs in ["1", "2"] {
        assert_deadlock(&run("seed_deadlock_go_after", Some(procs)));
    }
}

/// Go 1.27 prints `test` here (the seed's notes expected no output): main
/// parks on its send before the goroutine runs. With one P that order is
/// certain; with more, an idle P may steal the goroutine first, and then
/// main may return before it prints (in Go too).
#[test]
fn receiver_started_first_prints_like_go() {
    let out = run("seed_receiver_first", Some("1"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "test\n");
}

#[test]
fn sleeping_main_lets_the_goroutine_print() {
    let out = run("seed_sleep", None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "test\n");
}
