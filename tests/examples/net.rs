//! The networking examples, run as the binaries `cargo test` builds:
//! `examples/echo.rs` (the no-argument demo, a server goroutine and 8
//! clients on loopback, and the `server` and `client` modes against each
//! other) and `examples/http.rs --check` (hyper on gpm, asked over HTTP/1.1
//! and HTTP/2).

use crate::example;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Waits for `child` to exit, killing it after 60 s (a hang is a failure).
fn wait(mut child: Child, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{what} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn run(args: &[&str], procs: &str) -> Output {
    let child = Command::new(example("echo"))
        .args(args)
        .env("GOMAXPROCS", procs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait(child, &format!("echo {args:?}"))
}

#[test]
fn demo_round_trips_and_exits() {
    for procs in ["1", "2", "4"] {
        let out = run(&[], procs);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "GOMAXPROCS={procs}: {stdout}{stderr}");
        assert!(stderr.is_empty(), "GOMAXPROCS={procs}: {stderr}");
        assert!(
            stdout.contains(&format!("GOMAXPROCS = {procs}")),
            "GOMAXPROCS={procs}: {stdout}"
        );
        assert!(
            stdout.contains("8 clients x 500 round trips: 4000 echoes of 64 bytes"),
            "GOMAXPROCS={procs}: {stdout}"
        );
    }
}

/// Kills the server when the test ends, even by a panic.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn client_against_server() {
    let mut server = KillOnDrop(
        Command::new(example("echo"))
            .args(["server", "127.0.0.1:0"])
            .env("GOMAXPROCS", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    // The first line names the port: the server is listening once it is
    // printed.
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("echo server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();

    for procs in ["1", "2"] {
        let out = run(&["client", &addr, "300"], procs);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            stdout.starts_with(&format!("1 client x 300 round trips to {addr}: 300 echoes of 64 bytes")),
            "{stdout}"
        );
    }
}

#[test]
fn bad_arguments_print_usage() {
    let out = run(&["bogus"], "1");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: "));
}

#[test]
fn http_example_serves_http1_and_http2() {
    for procs in ["1", "2"] {
        let child = Command::new(example("http"))
            .arg("--check")
            .env("GOMAXPROCS", procs)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait(child, "http --check");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "http --check failed on {procs} Ps: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("self-check: ok"), "{stdout}");
    }
}
