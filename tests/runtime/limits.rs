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
    let name = crate::test_name(module_path!(), "huge_gomaxprocs_env_is_reported_and_ignored");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--nocapture"])
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

/// Runs this test binary again, only `test`, with `GPM_CHILD` set.
fn run_child(test: &str) -> std::process::Output {
    let name = crate::test_name(module_path!(), test);
    Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env("GPM_CHILD", "1")
        .output()
        .unwrap()
}

/// The OS refuses threads for Ps (here on purpose, as a pid limit would):
/// the program goes on with the threads it has, reports it once, and gets
/// every answer right; Go (and gpm before) exits with "failed to create
/// new OS thread".
#[test]
fn refused_m_threads_degrade_instead_of_dying() {
    if std::env::var_os("GPM_CHILD").is_some() {
        let rt = Builder::new().procs(4).fail_m_spawns(6).build().unwrap();
        let sum = rt.block_on_send(async {
            let mut hs = Vec::new();
            for i in 0..64u64 {
                hs.push(gpm::spawn(async move {
                    gpm::yield_now().await;
                    i
                }));
            }
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        });
        println!("sum {sum}");
        return;
    }
    let out = run_child("refused_m_threads_degrade_instead_of_dying");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    assert!(stdout.contains("sum 2016"), "{stdout}");
    assert_eq!(
        stderr.matches("gpm: failed to start a thread for a P").count(),
        1,
        "reported once: {stderr}"
    );
}

/// A real limit: the child drops to an unprivileged user (root ignores
/// RLIMIT_NPROC) and allows itself a few threads more than it has. 50
/// blocking jobs then use up the room while goroutines need Ms: jobs run
/// or get their spawn error, goroutines finish, and the process lives.
#[cfg(target_os = "linux")]
#[test]
fn a_thread_limit_does_not_kill_the_process() {
    if std::env::var_os("GPM_CHILD").is_some() {
        // SAFETY: plain libc calls on this process; no memory is shared.
        unsafe {
            if libc::geteuid() == 0 && libc::setuid(65534) != 0 {
                println!("skipped: cannot drop to an unprivileged user");
                return;
            }
        }
        let threads = std::fs::read_dir("/proc/self/task").unwrap().count() as u64;
        let limit = libc::rlimit {
            rlim_cur: threads + 10,
            rlim_max: threads + 10,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &limit) } != 0 {
            println!("skipped: cannot set RLIMIT_NPROC");
            return;
        }
        // RLIMIT_NPROC counts every thread of the user, in any process:
        // where that user has others running, there may be no room even
        // for sysmon.
        let rt = match Builder::new().procs(4).build() {
            Ok(rt) => rt,
            Err(e) => {
                println!("skipped: no room left under the limit to start the runtime ({e})");
                return;
            }
        };
        let (ran, refused, sum) = rt.block_on_send(async {
            let mut jobs = Vec::new();
            for _ in 0..50 {
                jobs.push(gpm::spawn_blocking(|| {
                    std::thread::sleep(std::time::Duration::from_millis(50))
                }));
            }
            let mut hs = Vec::new();
            for i in 0..64u64 {
                hs.push(gpm::spawn(async move {
                    gpm::syscall(|| std::thread::sleep(std::time::Duration::from_millis(2)));
                    i
                }));
            }
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            let (mut ran, mut refused) = (0, 0);
            for job in jobs {
                match job.await {
                    Ok(()) => ran += 1,
                    Err(e) if e.is_spawn_failure() => refused += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            (ran, refused, sum)
        });
        println!("jobs ran {ran} refused {refused} sum {sum}");
        return;
    }
    let out = run_child("a_thread_limit_does_not_kill_the_process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stdout.contains("skipped:") {
        println!("{stdout}");
        return;
    }
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("sum 2016"), "{stdout}\n{stderr}");
    assert!(stdout.contains("jobs ran "), "{stdout}");
    // The limit did bite (else this tested nothing): an M or a pool thread
    // was refused.
    assert!(
        stderr.contains("gpm: failed to start a thread for a P") || !stdout.contains("refused 0 "),
        "the thread limit was never reached:\n{stdout}\n{stderr}"
    );
}
