//! Deadlock detection ("all goroutines are asleep"): reported when nothing
//! can run again, and never while something still could.
//!
//! Each case runs in a child process (this binary again, with `GPM_CASE`
//! set), because a detected deadlock exits the process. This test has no
//! libtest harness: the harness's own threads would (rightly) keep the
//! detector silent, since a plain thread could still wake a goroutine.

use gpm::runtime::{Builder, Runtime};
use gpm::JoinHandle;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn rt(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

fn case(name: &str) {
    match name {
        "foreign_main" => rt(2).block_on(async {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            std::mem::forget(tx);
            let _ = rx.await;
        }),
        "foreign_goroutine" => rt(2).block_on(async {
            let h = gpm::spawn(async {
                let (tx, rx) = futures::channel::oneshot::channel::<()>();
                std::mem::forget(tx);
                let _ = rx.await;
            });
            let _ = h.await;
        }),
        "plain_thread" => {
            let _t = std::thread::spawn(|| loop {
                std::thread::park();
            });
            rt(2).block_on(main_waits_on_join());
        }
        "timer" => rt(2).block_on(async {
            let h = gpm::spawn(gpm::time::sleep(Duration::from_secs(3600)));
            let _ = h.await;
        }),
        "disabled" => Builder::new()
            .procs(2)
            .deadlock_detection(false)
            .build()
            .unwrap()
            .block_on(main_waits_on_join()),
        "chan_1" | "chan_2" | "chan_4" => {
            let procs = name[5..].parse().unwrap();
            rt(procs).block_on(async {
                let stuck = gpm::chan::<u32>(0);
                let never = gpm::chan::<u32>(0);
                gpm::go!(async move {
                    let _ = stuck.send(1).await; // nobody receives
                });
                let _ = never.recv().await; // nobody sends
            });
        }
        "socket_read" => rt(2).block_on(async {
            // The peer could be another process: a goroutine waiting for a
            // socket is possible progress.
            let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let _client = gpm::net::TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut server_side, _) = listener.accept().await.unwrap();
            let reader = gpm::spawn(async move {
                let mut buf = [0; 1];
                let _ = futures::AsyncReadExt::read(&mut server_side, &mut buf).await;
            });
            let _ = reader.await;
        }),
        "select_no_cases" => rt(2).block_on(async {
            gpm::select! {}
        }),
        "waitgroup" => rt(2).block_on(async {
            let wg = gpm::sync::WaitGroup::new();
            wg.add(1);
            wg.wait().await; // nobody calls done
        }),
        "chan_sent_from_a_thread" => {
            // Looks stuck for a while, but a plain thread holds the sender.
            rt(2).block_on(async {
                let ch = gpm::chan::<u32>(0);
                let tx = ch.sender();
                let t = std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(300));
                    tx.send_blocking(7).unwrap();
                });
                assert_eq!(ch.recv().await, Some(7));
                gpm::syscall(|| t.join().unwrap());
            });
            std::process::exit(0);
        }
        "chan_closed_by_timer" => rt(2).block_on(async {
            let ch = gpm::chan::<u32>(0);
            let closer = ch.clone();
            gpm::go!(async move {
                gpm::time::sleep(Duration::from_millis(300)).await;
                closer.close().unwrap();
            });
            assert_eq!(ch.recv().await, None);
            std::process::exit(0);
        }),
        // Issue 10: a ticker firing every 100 ns while main blocks its
        // thread, then a short sleep. Timers fired without a P once read as
        // "none armed" before the goroutines they woke were queued.
        "ticker_blocked_main" | "ticker_blocked_send_main" => {
            let body = async {
                let ticker = gpm::time::Ticker::new(Duration::from_nanos(100));
                std::thread::sleep(Duration::from_secs(2));
                gpm::time::sleep(Duration::from_millis(1)).await;
                drop(ticker);
                std::process::exit(0);
            };
            if name == "ticker_blocked_main" {
                rt(2).block_on(body)
            } else {
                rt(2).block_on_send(body)
            }
        }
        // `tick(d)` as main's only wait: its ticker lives as long as its
        // receiver (it was dropped at once, and this read as a deadlock).
        "tick_main" => rt(2).block_on_send(async {
            let ticks = gpm::time::tick(Duration::from_millis(10));
            for _ in 0..3 {
                ticks.recv().await.unwrap();
            }
            std::process::exit(0);
        }),
        "send_main_chan" => rt(2).block_on_send(async {
            let stuck = gpm::chan::<u32>(0);
            let never = gpm::chan::<u32>(0);
            gpm::go!(async move {
                let _ = stuck.send(1).await; // nobody receives
            });
            let _ = never.recv().await; // nobody sends
        }),
        // A main whose thread the OS leaves unscheduled while it sets the
        // main up (counted, not yet listed or queued): under load this read
        // as a deadlock with no goroutine to show.
        "stalled_main_start" => stalled(2).block_on(async { std::process::exit(0) }),
        "stalled_send_main_start" => stalled(2).block_on_send(async { std::process::exit(0) }),
        // The same beside a goroutine that waits for good (from an earlier
        // main): everything found waits, but the new main is on its way.
        "stalled_send_main_beside_a_waiter" => {
            let rt = stalled(2);
            rt.block_on_send(async {
                let ch = gpm::chan::<u32>(0);
                gpm::go!(async move {
                    let _ = ch.recv().await; // nobody sends
                });
                while !gpm::runtime::dump().contains("[chan receive]") {
                    gpm::yield_now().await;
                }
            });
            rt.block_on_send(async { std::process::exit(0) })
        }
        _ => panic!("unknown case {name}"),
    }
}

/// A runtime whose `block_on` callers stall for 300 ms (30 sysmon looks
/// or more) while they set up their main.
fn stalled(procs: usize) -> Runtime {
    Builder::new()
        .procs(procs)
        .stall_main_start(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// Main joins a goroutine that joins itself: every goroutine waits on a
/// gpm join (a deadlock, unless something else can still happen).
async fn main_waits_on_join() {
    let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
    let slot2 = slot.clone();
    let b = gpm::spawn(async move {
        let me = loop {
            if let Some(me) = slot2.lock().unwrap().take() {
                break me;
            }
            gpm::yield_now().await;
        };
        let _ = me.await; // waits for its own end: forever
    });
    *slot.lock().unwrap() = Some(b);
    let watcher = gpm::spawn(async move {
        while slot.lock().unwrap().is_some() {
            gpm::yield_now().await;
        }
    });
    let _ = watcher.await;
    // Main itself must wait on gpm too; a channel will do that (see the
    // channel cases). Here main waits on nothing gpm made.
    std::future::pending::<()>().await
}

fn main() {
    if let Ok(name) = std::env::var("GPM_CASE") {
        case(&name);
        return;
    }
    let silent = [
        "foreign_main",
        "foreign_goroutine",
        "plain_thread",
        "timer",
        "disabled",
        "socket_read",
    ];
    let loud = [
        "chan_1",
        "chan_2",
        "chan_4",
        "select_no_cases",
        "waitgroup",
        "send_main_chan",
    ];
    let finish_ok = [
        "chan_sent_from_a_thread",
        "chan_closed_by_timer",
        "ticker_blocked_main",
        "ticker_blocked_send_main",
        "tick_main",
        "stalled_main_start",
        "stalled_send_main_start",
        "stalled_send_main_beside_a_waiter",
    ];
    let children: Vec<_> = silent
        .iter()
        .chain(&loud)
        .chain(&finish_ok)
        .map(|name| (*name, spawn_case(name)))
        .collect();
    let mut failed = 0;
    for (name, child) in children {
        let expect_deadlock = loud.contains(&name);
        let (code, stderr) = finish(
            child,
            if expect_deadlock || finish_ok.contains(&name) {
                Duration::from_secs(60)
            } else {
                Duration::from_secs(2)
            },
        );
        let reported = stderr.contains("fatal error: all goroutines are asleep - deadlock!");
        let ok = if expect_deadlock {
            reported
                && code == Some(2)
                && stderr.contains("\n\ngoroutine 1 [")
                && stderr.contains("main at tests/deadlock.rs:")
                && match name {
                    "select_no_cases" => stderr.contains("goroutine 1 [select (no cases)]:"),
                    "waitgroup" => stderr.contains("goroutine 1 [sync.WaitGroup.Wait]:"),
                    _ => stderr.contains("goroutine 1 [chan receive]:") && stderr.contains("[chan send]:\ncreated at"),
                }
        } else if finish_ok.contains(&name) {
            // Nothing was stuck for good: the program ends normally.
            !reported && code == Some(0)
        } else {
            !reported && code.is_none()
        };
        println!("deadlock case {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed += 1;
            println!("  exit code {code:?}, stderr:\n{stderr}");
        }
    }
    assert_eq!(failed, 0, "{failed} deadlock case(s) failed");
}

fn spawn_case(name: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .env("GPM_CASE", name)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` up to `wait`, then kills it. Returns its exit code
/// (`None` if killed) and its stderr.
fn finish(mut child: std::process::Child, wait: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + wait;
    let killed = loop {
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            break true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let code = if killed { None } else { out.status.code() };
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}
