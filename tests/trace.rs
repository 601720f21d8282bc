// Its own binary: the SCHED lines checked come from a child whose start other tests' load delays.
//! schedtrace (`GPM_DEBUG=schedtrace=MS[,scheddetail=1]`) and the SIGQUIT
//! goroutine dump, each checked in a child process (this test binary again).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn is_child() -> bool {
    std::env::var_os("GPM_CHILD").is_some()
}

fn child(test: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("GPM_CHILD", "1");
    cmd
}

/// Some work with sleeps, so that sysmon prints a few lines meanwhile.
fn workload() {
    let rt = gpm::runtime::Builder::new().procs(2).build().unwrap();
    rt.block_on(async {
        for _ in 0..5 {
            let hs: Vec<_> = (0..100).map(|i| gpm::spawn(async move { i })).collect();
            for h in hs {
                h.await.unwrap();
            }
            gpm::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

/// `name=number` → the number.
fn field(word: &str, name: &str) -> u64 {
    let (k, v) = word
        .split_once('=')
        .unwrap_or_else(|| panic!("{word:?} is not key=value"));
    assert_eq!(k, name);
    v.parse().unwrap_or_else(|_| panic!("{word:?}: not a number"))
}

/// Checks one line against Go's format:
/// `SCHED 12ms: gomaxprocs=2 idleprocs=0 threads=4 spinningthreads=0 needspinning=1 idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 20 47 ]`
/// and returns gomaxprocs.
fn parse_sched(line: &str) -> u64 {
    let rest = line.strip_prefix("SCHED ").unwrap_or_else(|| panic!("{line:?}"));
    let (ms, rest) = rest.split_once("ms: ").unwrap_or_else(|| panic!("{line:?}"));
    ms.parse::<u64>().unwrap();
    let words: Vec<&str> = rest.split(' ').collect();
    let names = [
        "gomaxprocs",
        "idleprocs",
        "threads",
        "spinningthreads",
        "needspinning",
        "idlethreads",
        "runqueue",
    ];
    for (w, name) in words.iter().zip(names) {
        field(w, name);
    }
    let procs = field(words[0], "gomaxprocs") as usize;
    assert!(field(words[4], "needspinning") <= 1);
    // `[ a b ]`: procs numbers between the brackets.
    let tail = &words[names.len()..];
    assert_eq!(tail[0], "[", "{line:?}");
    assert!(tail[1..=procs].iter().all(|n| n.parse::<u64>().is_ok()), "{line:?}");
    assert_eq!(tail[procs + 1], "]", "{line:?}");
    assert_eq!(tail[procs + 2], "schedticks=[", "{line:?}");
    assert!(
        tail[procs + 3..procs * 2 + 3].iter().all(|n| n.parse::<u64>().is_ok()),
        "{line:?}"
    );
    assert_eq!(tail[procs * 2 + 3], "]", "{line:?}");
    assert_eq!(tail.len(), procs * 2 + 4, "{line:?}");
    procs as u64
}

#[test]
fn schedtrace_prints_go_sched_lines() {
    if is_child() {
        workload();
        return;
    }
    let out = child("schedtrace_prints_go_sched_lines")
        .env("GPM_DEBUG", "schedtrace=10")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(
        lines.len() >= 2,
        "expected a SCHED line every 10 ms over ~100 ms:\n{stderr}"
    );
    for line in lines {
        assert_eq!(parse_sched(line), 2);
    }
}

/// The number after `name=` in a SCHED line.
fn sched_field(line: &str, name: &str) -> u64 {
    let prefix = format!("{name}=");
    let word = line
        .split(' ')
        .find(|w| w.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"));
    field(word, name)
}

/// Go's `threads=` is `mcount()`: every M the runtime has, m0 and sysmon's
/// included. Here the `block_on` caller is m0; it and sysmon are never on
/// the idle list, so every line counts at least two threads beyond the idle
/// ones, even when every worker M is asleep.
#[test]
fn schedtrace_threads_count_main_and_sysmon() {
    if is_child() {
        for procs in [1, 2] {
            let rt = gpm::runtime::Builder::new().procs(procs).build().unwrap();
            rt.block_on(async {
                // Busy, then quiet: the quiet part leaves the workers idle.
                let hs: Vec<_> = (0..100).map(|i| gpm::spawn(async move { i })).collect();
                for h in hs {
                    h.await.unwrap();
                }
                gpm::time::sleep(Duration::from_millis(60)).await;
            });
        }
        return;
    }
    let out = child("schedtrace_threads_count_main_and_sysmon")
        .env("GPM_DEBUG", "schedtrace=5")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(lines.len() >= 4, "expected a SCHED line every 5 ms:\n{stderr}");
    for line in lines {
        parse_sched(line);
        let threads = sched_field(line, "threads");
        let idle = sched_field(line, "idlethreads");
        assert!(
            threads >= idle + 2,
            "threads= leaves out the block_on caller or sysmon: {line:?}\n{stderr}"
        );
    }
}

#[test]
fn scheddetail_adds_a_line_per_p_and_m() {
    if is_child() {
        workload();
        return;
    }
    let out = child("scheddetail_adds_a_line_per_p_and_m")
        .env("GPM_DEBUG", "schedtrace=10,scheddetail=1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("SCHED "))
        .expect("no SCHED line");
    assert_eq!(parse_sched(lines[first]), 2);
    assert!(lines[first + 1].starts_with("  P0: status="), "{stderr}");
    assert!(lines[first + 2].starts_with("  P1: status="), "{stderr}");
    assert!(lines[first + 3].starts_with("  M"), "{stderr}");
    assert!(stderr.contains("  G1: status="), "{stderr}");
}

#[test]
fn bad_gpm_debug_is_reported_and_ignored() {
    if is_child() {
        workload();
        return;
    }
    let out = child("bad_gpm_debug_is_reported_and_ignored")
        .env("GPM_DEBUG", "schedtrace=soon")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gpm: GPM_DEBUG: schedtrace=\"soon\" is not a number; ignored"),
        "{stderr}"
    );
    assert!(!stderr.contains("SCHED "), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigquit_prints_the_goroutine_dump_and_exits_2() {
    if is_child() {
        let rt = gpm::runtime::Builder::new().procs(2).build().unwrap();
        rt.block_on(async {
            let waiter = gpm::spawn(async {
                let never = gpm::spawn(std::future::pending::<()>());
                let _ = never.await;
            });
            // Both goroutines have parked once they are in the dump.
            while !gpm::runtime::dump().contains("[join]") {
                gpm::yield_now().await;
            }
            println!("ready");
            let _ = waiter.await;
        });
        unreachable!("SIGQUIT exits first");
    }
    let mut proc = child("sigquit_prints_the_goroutine_dump_and_exits_2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(proc.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the child ended early");
        if line.trim_end().ends_with("ready") {
            break;
        }
    }
    let status = Command::new("sh")
        .args(["-c", &format!("kill -QUIT {}", proc.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let out = proc.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("SIGQUIT: quit\n\ngoroutine 1 ["), "{stderr}");
    assert!(
        stderr.contains("goroutine 2 [join]:\ncreated at tests/trace.rs:"),
        "{stderr}"
    );
}
