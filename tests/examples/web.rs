//! The web examples, run as the binaries `cargo test` builds:
//! `examples/axum.rs` (asked over HTTP/1.1 on the port it printed, then
//! killed) and `examples/tonic.rs --check` (serves, calls itself through
//! the gRPC client on gpm, shuts down gracefully and exits 0).

use super::example;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the example when the test ends, even by a panic.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example on a free port; returns it and the address it printed.
fn start(name: &str, args: &[&str]) -> (Killed, BufReader<std::process::ChildStdout>, String) {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Killed(child);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{name} printed {line:?}"))
        .to_owned();
    (child, stdout, addr)
}

/// One HTTP/1.1 GET over a plain socket; returns the whole response.
fn get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn axum_example_answers() {
    let (_child, _stdout, addr) = start("axum", &["127.0.0.1:0"]);
    let hello = get(&addr, "/");
    assert!(hello.starts_with("HTTP/1.1 200 OK"), "{hello}");
    assert!(hello.ends_with("Hello from a goroutine!\n"), "{hello}");
    let user = get(&addr, "/users/7");
    assert!(user.starts_with("HTTP/1.1 200 OK"), "{user}");
    assert!(user.contains("content-type: application/json"), "{user}");
    assert!(user.ends_with(r#"{"id":7,"name":"gopher 7"}"#), "{user}");
    assert!(get(&addr, "/nope").starts_with("HTTP/1.1 404"));
}

#[test]
fn tonic_example_serves_and_calls_itself() {
    let (mut child, mut stdout, _addr) = start("tonic", &["--check"]);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "Hello, gopher!\n");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the tonic example did not exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
}
