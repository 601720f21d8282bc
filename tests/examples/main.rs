//! The examples, run as the binaries `cargo test` builds, with their
//! output checked.
//!
//! - [`seed`]: the seed's four programs (`examples/seed_*.rs`), against
//!   Go's output (was `tests/seed.rs`).
//! - [`net`]: the networking examples, `examples/echo.rs` and
//!   `examples/http.rs` (was `tests/examples_net.rs`).
//! - [`web`]: the web stack, `examples/axum.rs` and `examples/tonic.rs`.

mod net;
mod seed;
mod web;

use std::path::PathBuf;
use std::process::Command;

/// The example binary `name`, built by `cargo test` beside this test's.
fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    {
        // Up to date when `cargo test` built the examples; built here when
        // only this test was asked for (or the example is stale).
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--example", name]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.current_dir(env!("CARGO_MANIFEST_DIR")).status().unwrap();
        assert!(status.success(), "could not build example {name}");
    }
    assert!(path.exists(), "{} was not built", path.display());
    path
}
