//! The execution tracer (`gpm::runtime::trace`, `GPM_TRACE`): traces of
//! known programs hold the events they must, in order, and the JSON is
//! valid trace-event format (checked with serde_json).
//!
//! A trace records every runtime of the process, so the tests here take
//! turns (`LOCK`).

use gpm::runtime::{trace, Builder, Runtime};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// An in-memory writer for `trace::start`.
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Memory {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records what `f` does, and returns the trace's events after checking
/// them against the trace-event format.
fn record(f: impl FnOnce()) -> Vec<Value> {
    let out = Memory::default();
    trace::start(out.clone()).unwrap();
    f();
    trace::stop().unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    let events = json["traceEvents"].as_array().expect("traceEvents").clone();
    check_format(&events);
    events
}

fn num(e: &Value, k: &str) -> f64 {
    e[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing or not a number: {e}"))
}

/// A time stamp (`ts`, or `ts + dur` with `end`) in whole nanoseconds: the
/// writer prints three decimals of microseconds, and sums of floats would
/// not compare exactly.
fn ns(e: &Value, end: bool) -> i64 {
    let mut us = num(e, "ts");
    if end {
        us += num(e, "dur");
    }
    (us * 1000.0).round() as i64
}

fn track(e: &Value) -> (u64, u64) {
    (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap())
}

/// The trace-event format's rules, as far as these traces use it: required
/// fields per phase, time stamps in order per track, complete slices that
/// nest, every flow start with one finish, async begins and ends paired.
fn check_format(events: &[Value]) {
    let mut last_ts: HashMap<(u64, u64), f64> = HashMap::new();
    let mut open: HashMap<(u64, u64), Vec<i64>> = HashMap::new();
    let mut flows: HashMap<u64, (usize, usize)> = HashMap::new();
    let mut asyncs: HashMap<(String, u64), i64> = HashMap::new();
    for e in events {
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("no ph: {e}"));
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "pid/tid: {e}");
        if ph == "M" {
            assert!(e["name"].is_string() && e["args"].is_object(), "{e}");
            continue;
        }
        let ts = num(e, "ts");
        assert!(ts >= 0.0, "{e}");
        let t = track(e);
        let last = last_ts.entry(t).or_insert(0.0);
        assert!(ts >= *last, "time stamps go back on track {t:?}: {e}");
        *last = ts;
        match ph {
            "X" => {
                assert!(e["name"].is_string(), "{e}");
                assert!(num(e, "dur") >= 0.0, "{e}");
                let (start, end) = (ns(e, false), ns(e, true));
                let stack = open.entry(t).or_default();
                while stack
                    .last()
                    .is_some_and(|&parent_end| parent_end <= start && parent_end < end)
                {
                    stack.pop();
                }
                // Either no parent, or the slice ends inside it.
                if let Some(&parent_end) = stack.last() {
                    if end > parent_end {
                        let before: Vec<&Value> = events
                            .iter()
                            .filter(|o| o["ph"] == "X" && track(o) == t && num(o, "ts") <= ts)
                            .collect();
                        panic!(
                            "slice overlaps its parent on {t:?}: {e}\nslices before it: {:#?}",
                            &before[before.len().saturating_sub(3)..]
                        );
                    }
                }
                stack.push(end);
            }
            "i" | "I" => {
                assert!(e["name"].is_string(), "{e}");
                assert!(matches!(e["s"].as_str(), Some("t" | "p" | "g")), "{e}");
            }
            "s" | "f" => {
                let id = e["id"].as_u64().unwrap_or_else(|| panic!("flow without id: {e}"));
                let entry = flows.entry(id).or_default();
                if ph == "s" {
                    entry.0 += 1;
                } else {
                    entry.1 += 1;
                    assert_eq!(e["bp"].as_str(), Some("e"), "{e}");
                }
            }
            "b" | "e" => {
                let id = e["id"].as_u64().unwrap_or_else(|| panic!("async without id: {e}"));
                let cat = e["cat"].as_str().unwrap().to_string();
                *asyncs.entry((cat, id)).or_default() += if ph == "b" { 1 } else { -1 };
            }
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    for (id, (s, f)) in flows {
        assert_eq!((s, f), (1, 1), "flow {id}: {s} starts, {f} finishes");
    }
    for (key, n) in asyncs {
        assert!(n == 0, "async {key:?} unbalanced");
    }
}

/// The complete slices of goroutine `goid`'s polls, in time order.
fn polls(events: &[Value], goid: u64) -> Vec<&Value> {
    let mut v: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "goroutine" && e["args"]["goid"].as_u64() == Some(goid))
        .collect();
    v.sort_by(|a, b| num(a, "ts").total_cmp(&num(b, "ts")));
    v
}

/// Flows (start, finish) by id.
fn flows(events: &[Value]) -> Vec<(&Value, &Value)> {
    let mut starts = HashMap::new();
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e["ph"] == "s") {
        starts.insert(e["id"].as_u64().unwrap(), e);
    }
    for e in events.iter().filter(|e| e["ph"] == "f") {
        out.push((starts[&e["id"].as_u64().unwrap()], e));
    }
    out
}

/// True if `at` (a flow event) lies in slice `s` on the same track.
fn inside(at: &Value, s: &Value) -> bool {
    let ts = ns(at, false);
    track(at) == track(s) && ns(s, false) <= ts && ts <= ns(s, true)
}

fn runtime(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

/// A ping-pong over an unbuffered channel: each goroutine's polls end
/// blocked on the channel, alternate with the other's, and each wake is a
/// channel flow from one's poll to the other's next.
#[test]
fn ping_pong_polls_alternate_with_channel_wakes() {
    let _l = lock();
    for procs in [1, 2, 4] {
        const ROUNDS: usize = 50;
        let rt = runtime(procs);
        let mut ids = (0, 0);
        let events = record(|| {
            ids = rt.block_on(async {
                let (ping, pong) = (gpm::chan::<usize>(0), gpm::chan::<usize>(0));
                let (p2, q2) = (ping.clone(), pong.clone());
                let a = gpm::spawn(async move {
                    for i in 0..ROUNDS {
                        ping.send(i).await.unwrap();
                        assert_eq!(pong.recv().await, Some(i));
                    }
                });
                let b = gpm::spawn(async move {
                    for _ in 0..ROUNDS {
                        let i = p2.recv().await.unwrap();
                        q2.send(i).await.unwrap();
                    }
                });
                let ids = (a.id(), b.id());
                a.await.unwrap();
                b.await.unwrap();
                ids
            });
        });
        let (a, b) = (polls(&events, ids.0), polls(&events, ids.1));
        // Each rendezvous ends a poll of the side that parks.
        assert!(
            a.len() + b.len() >= 2 * ROUNDS,
            "procs {procs}: {} and {} polls",
            a.len(),
            b.len()
        );
        assert_eq!(a.last().unwrap()["args"]["end"], "finished");
        assert_eq!(b.last().unwrap()["args"]["end"], "finished");
        for s in a.iter().chain(&b).filter(|s| s["args"]["end"] == "blocked") {
            let wait = s["args"]["wait"].as_str().unwrap();
            assert!(wait == "chan send" || wait == "chan receive" || wait == "join", "{s}");
        }
        // Channel wakes from a poll of one to the next poll of the other.
        let mut edges = [0, 0];
        for (s, f) in flows(&events) {
            if s["name"] != "wake (channel)" {
                continue;
            }
            assert!(num(s, "ts") <= num(f, "ts"), "a flow goes back in time: {s} {f}");
            let from_a = a.iter().any(|p| inside(s, p));
            let from_b = b.iter().any(|p| inside(s, p));
            let to_a = a.iter().any(|p| num(p, "ts") == num(f, "ts") && track(p) == track(f));
            let to_b = b.iter().any(|p| num(p, "ts") == num(f, "ts") && track(p) == track(f));
            if from_a && to_b {
                assert_eq!(s["args"]["waker_goid"].as_u64(), Some(ids.0), "{s}");
                assert_eq!(s["args"]["goid"].as_u64(), Some(ids.1), "{s}");
                edges[0] += 1;
            }
            if from_b && to_a {
                assert_eq!(s["args"]["waker_goid"].as_u64(), Some(ids.1), "{s}");
                edges[1] += 1;
            }
            assert!(
                from_a && to_b || from_b && to_a,
                "procs {procs}: a channel flow from elsewhere: {s} {f}"
            );
        }
        // Each of the 2 x ROUNDS rendezvous parks the side that comes
        // first and the other wakes it (which side comes first varies on
        // more than one P). On more than one P, a wake that lands while
        // the parking side's poll is still returning is applied by
        // async-task as that poll ends, and has no arrow (see
        // `exectrace::wake`): most still have one.
        let wanted = if procs == 1 { 2 * ROUNDS - 1 } else { ROUNDS };
        assert!(
            edges[0] + edges[1] >= wanted && edges[0] >= 1 && edges[1] >= 1,
            "procs {procs}: wakes a->b {}, b->a {}",
            edges[0],
            edges[1]
        );
        // The polls alternate: between the starts of two polls of a that
        // end blocked on a receive, b has run (on 2 or 4 Ps, maybe in a
        // poll that overlaps them).
        let a_recv: Vec<i64> = a
            .iter()
            .filter(|s| s["args"]["wait"] == "chan receive")
            .map(|s| ns(s, false))
            .collect();
        for w in a_recv.windows(2) {
            assert!(
                b.iter().any(|s| ns(s, false) < w[1] && ns(s, true) > w[0]),
                "procs {procs}: b did not run between a's receives at {} and {}",
                w[0],
                w[1]
            );
        }
    }
}

/// A timer wake: the sleeping goroutine's poll ends blocked in `sleep`, and
/// a timer flow leads to its next poll.
#[test]
fn timer_wakes_the_sleeper() {
    let _l = lock();
    for procs in [1, 2] {
        let rt = runtime(procs);
        let mut id = 0;
        let events = record(|| {
            id = rt.block_on(async {
                let h = gpm::spawn(async {
                    gpm::time::sleep(Duration::from_millis(2)).await;
                });
                let id = h.id();
                h.await.unwrap();
                id
            });
        });
        let p = polls(&events, id);
        assert_eq!(p.len(), 2, "procs {procs}: {p:?}");
        assert_eq!(p[0]["args"]["end"], "blocked");
        assert_eq!(p[0]["args"]["wait"], "sleep");
        assert_eq!(p[1]["args"]["end"], "finished");
        let timer = flows(&events)
            .into_iter()
            .filter(|(s, f)| s["name"] == "wake (timer)" && num(f, "ts") == num(p[1], "ts") && track(f) == track(p[1]))
            .count();
        assert_eq!(timer, 1, "procs {procs}: no timer wake into the second poll");
        // And the spawn is a flow into the first poll.
        assert!(flows(&events)
            .iter()
            .any(|(s, f)| s["name"] == "wake (spawn)" && num(f, "ts") == num(p[0], "ts")));
    }
}

/// A steal on 2 Ps: goroutines queued on a P whose goroutine holds its
/// thread are stolen by the other P's M; every steal `stats()` counts is
/// an instant in the trace, and the thief's next poll is a stolen
/// goroutine.
#[test]
fn steals_are_recorded_on_the_thief() {
    let _l = lock();
    let rt = runtime(2);
    for attempt in 0.. {
        let before = rt.stats().steals;
        let mut ids = Vec::new();
        let main_line = line!() + 2;
        let events = record(|| {
            ids = rt.block_on_send(async {
                let ran = Arc::new(AtomicBool::new(false));
                let hs: Vec<_> = (0..32)
                    .map(|_| {
                        let ran = ran.clone();
                        gpm::spawn(async move { ran.store(true, SeqCst) })
                    })
                    .collect();
                let ids: Vec<u64> = hs.iter().map(|h| h.id()).collect();
                // Hold this P's thread until another M ran one of them.
                let deadline = Instant::now() + Duration::from_secs(10);
                while !ran.load(SeqCst) && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                for h in hs {
                    h.await.unwrap();
                }
                ids
            });
        });
        let steals = rt.stats().steals - before;
        let instants: Vec<&Value> = events
            .iter()
            .filter(|e| e["ph"] == "i" && e["name"] == "steal")
            .collect();
        assert_eq!(instants.len() as u64, steals, "stats and trace disagree");
        if steals == 0 {
            // The other M came too late: sysmon handed the P over instead.
            assert!(attempt < 20, "no steal in 20 attempts");
            continue;
        }
        for s in &instants {
            assert!(s["args"]["gs"].as_u64().unwrap() >= 1, "{s}");
            let next = events
                .iter()
                .filter(|e| {
                    e["ph"] == "X" && e["cat"] == "goroutine" && track(e) == track(s) && num(e, "ts") >= num(s, "ts")
                })
                .min_by(|a, b| num(a, "ts").total_cmp(&num(b, "ts")))
                .expect("no poll after a steal");
            // A spawned goroutine, or main (readied by one that finished,
            // it may wait in a ring too).
            let main = format!("{}:{main_line}:", file!());
            assert!(
                ids.contains(&next["args"]["goid"].as_u64().unwrap())
                    || next["args"]["created_at"].as_str().unwrap().starts_with(&main),
                "{next}"
            );
        }
        break;
    }
}

/// A `gpm::syscall` that blocks until another goroutine of its P has run:
/// on 1 P that takes a hand-off. sysmon's retake, the syscall slice, and
/// the other goroutine's poll during it are in the trace, in that order.
#[test]
fn syscall_hands_off_its_p() {
    let _l = lock();
    let rt = runtime(1);
    let mut ids = (0, 0);
    let events = record(|| {
        ids = rt.block_on_send(async {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let go = gpm::chan::<()>(1);
            let go2 = go.clone();
            // Waits for the word, then unblocks the syscall.
            let other = gpm::spawn(async move {
                go2.recv().await.unwrap();
                tx.send(()).unwrap()
            });
            // Readies `other` onto its own P, then blocks its thread.
            let waiter = gpm::spawn(async move {
                go.send(()).await.unwrap();
                gpm::syscall(|| rx.recv_timeout(Duration::from_secs(30)).unwrap());
            });
            let ids = (waiter.id(), other.id());
            waiter.await.unwrap();
            other.await.unwrap();
            ids
        });
    });
    let syscall = events
        .iter()
        .find(|e| e["ph"] == "X" && e["name"] == "syscall" && e["args"]["goid"].as_u64() == Some(ids.0))
        .expect("no syscall slice");
    assert_ne!(syscall["args"]["exit"], "same P", "{syscall}");
    let (start, end) = (num(syscall, "ts"), num(syscall, "ts") + num(syscall, "dur"));
    let retake = events
        .iter()
        .find(|e| e["ph"] == "i" && e["name"] == "sysmon: retake P")
        .expect("no retake");
    assert_eq!(retake["args"]["in_syscall"], true);
    let other = polls(&events, ids.1);
    let ran = other
        .iter()
        .find(|p| p["args"]["end"] == "finished")
        .expect("other never finished");
    assert!(start <= num(retake, "ts") && num(retake, "ts") <= num(ran, "ts") && num(ran, "ts") <= end);
}

/// Regions and tasks are async slices with their names; start twice and
/// stop without a trace are errors; nothing is recorded when off.
#[test]
fn regions_tasks_and_errors() {
    let _l = lock();
    assert!(!trace::is_enabled());
    assert_eq!(trace::Task::new("off").id(), 0);
    assert_eq!(trace::stop().unwrap_err().kind(), std::io::ErrorKind::NotFound);
    let rt = runtime(2);
    let before = trace::Region::new("before the trace");
    let mut open = None;
    let main_line = line!() + 11;
    let events = record(|| {
        drop(before);
        open = Some(trace::Region::new("open at stop"));
        let moved = trace::Region::new("ends on another thread");
        std::thread::spawn(move || drop(moved)).join().unwrap();
        assert!(trace::is_enabled());
        assert_eq!(
            trace::start(Memory::default()).unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        rt.block_on(async {
            let task = trace::Task::new("request \"1\"");
            let region = trace::Region::new("across an await");
            gpm::yield_now().await;
            drop(region);
            assert_eq!(trace::region("sync", || 7), 7);
            drop(task);
        });
    });
    // The `block_on` future (polled on this thread, not a task) has its
    // polls too (it yields once, then finishes).
    let main = format!("{}:{main_line}:", file!());
    let main_polls: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["args"]["created_at"].as_str().is_some_and(|c| c.starts_with(&main)))
        .collect();
    assert!(main_polls.len() >= 2, "{main_polls:?}");
    assert!(
        main_polls.iter().any(|p| p["args"]["end"] == "finished"),
        "{main_polls:?}"
    );
    drop(open);
    // Balanced (`check_format`), named at both ends, and only those begun
    // during the trace.
    for name in ["open at stop", "ends on another thread"] {
        for ph in ["b", "e"] {
            assert!(events.iter().any(|e| e["ph"] == ph && e["name"] == name), "{name} {ph}");
        }
    }
    assert!(!events.iter().any(|e| e["name"] == "before the trace"));
    for (name, cat) in [
        ("request \"1\"", "task"),
        ("across an await", "region"),
        ("sync", "region"),
    ] {
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "b" && e["name"] == name && e["cat"] == cat),
            "{name} missing"
        );
    }
}

/// `GPM_TRACE=path`: a child process's runtime writes a trace there when it
/// shuts down.
#[test]
fn gpm_trace_env_writes_a_file() {
    if std::env::var_os("GPM_TRACE_CHILD").is_some() {
        let rt = runtime(2);
        rt.block_on(async {
            let h = gpm::spawn(async { gpm::yield_now().await });
            h.await.unwrap();
        });
        return;
    }
    let path = std::env::temp_dir().join(format!("gpm-exectrace-{}.json", std::process::id()));
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["gpm_trace_env_writes_a_file", "--exact", "--test-threads=1"])
        .env("GPM_TRACE_CHILD", "1")
        .env("GPM_TRACE", &path)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let json: Value = serde_json::from_str(&text).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    check_format(events);
    assert!(events.iter().any(|e| e["ph"] == "X" && e["args"]["end"] == "yielded"));
    assert!(events
        .iter()
        .any(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["args"]["name"] == "P0"));
}
