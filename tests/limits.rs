//! Limits the runtime cannot honour are clear errors, never an abort
//! (issue 11): an impossible number of Ps from the `Builder` or from
//! `GOMAXPROCS`.

use gpm::runtime::{Builder, MAX_PROCS};
use std::io::ErrorKind;
use std::process::Command;

#[test]
fn huge_procs_is_an_error_not_an_abort() {
    for procs in [1 << 30, usize::MAX, MAX_PROCS + 1] {
        let err = Builder::new().procs(procs).build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("procs (GOMAXPROCS)"), "{err}");
    }
}

#[test]
fn procs_above_max_threads_is_an_error() {
    let err = Builder::new().procs(8).max_threads(4).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_threads"), "{err}");
    // Within both limits it builds.
    let rt = Builder::new().procs(4).max_threads(4).build().unwrap();
    assert_eq!(rt.block_on(async { gpm::runtime::gomaxprocs() }), 4);
}

/// `GOMAXPROCS` too large for gpm is reported once and ignored, as Go does
/// with an invalid value: the program runs with the default. (The default
/// is read once per process, hence the child.)
#[test]
fn huge_gomaxprocs_env_is_reported_and_ignored() {
    if std::env::var_os("GPM_CHILD").is_some() {
        let rt = Builder::new().build().unwrap();
        let procs = rt.block_on(async { gpm::runtime::gomaxprocs() });
        assert!((1..=MAX_PROCS).contains(&procs));
        println!("ran with {procs} Ps");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["huge_gomaxprocs_env_is_reported_and_ignored", "--exact", "--nocapture"])
        .env("GPM_CHILD", "1")
        .env("GOMAXPROCS", "1073741824")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    assert!(stderr.contains("gpm: ignoring GOMAXPROCS=\"1073741824\""), "{stderr}");
    assert!(stdout.contains("ran with "), "{stdout}");
}
