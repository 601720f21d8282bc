//! `gpm::spawn_blocking`: the blocking pool (threads without Ps, a cap, a
//! keep-alive, errors instead of hangs, shutdown that does not wait).

use gpm::runtime::{Builder, Runtime};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Turns a hang into a failure; never used to wait for a result.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `body` on its own thread and fails if it takes longer than a
/// generous deadline (a hang), or panics.
fn with_watchdog(body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        body();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(()) => thread.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: re-raise its panic.
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung: not done within 120 s"),
    }
}

fn runtime(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

// ----- many jobs -------------------------------------------------------------

fn ten_thousand_jobs_complete(rt: Runtime) {
    const N: u64 = 10_000;
    let sum = rt.block_on(async {
        let jobs: Vec<_> = (0..N).map(|i| gpm::spawn_blocking(move || i * 3)).collect();
        let mut sum = 0;
        for (i, job) in jobs.into_iter().enumerate() {
            let got = job.await.unwrap();
            assert_eq!(got, i as u64 * 3);
            sum += got;
        }
        sum
    });
    assert_eq!(sum, 3 * N * (N - 1) / 2);
    let stats = rt.stats();
    assert!(stats.blocking_threads <= 512, "{stats:?}");
    assert!(stats.blocking_threads <= stats.threads, "{stats:?}");
}

#[test]
fn ten_thousand_jobs_complete_procs_1() {
    with_watchdog(|| ten_thousand_jobs_complete(runtime(1)));
}

#[test]
fn ten_thousand_jobs_complete_procs_2() {
    with_watchdog(|| ten_thousand_jobs_complete(runtime(2)));
}

#[test]
fn ten_thousand_jobs_complete_procs_4_cap_8() {
    with_watchdog(|| ten_thousand_jobs_complete(Builder::new().procs(4).max_blocking_threads(8).build().unwrap()));
}

#[test]
fn jobs_from_many_goroutines_complete() {
    with_watchdog(|| {
        let rt = runtime(2);
        let total = rt.block_on(async {
            let gs: Vec<_> = (0..100u64)
                .map(|g| {
                    gpm::spawn(async move {
                        let mut sum = 0;
                        for j in 0..20u64 {
                            sum += gpm::spawn_blocking(move || g * 100 + j).await.unwrap();
                        }
                        sum
                    })
                })
                .collect();
            let mut total = 0;
            for g in gs {
                total += g.await.unwrap();
            }
            total
        });
        assert_eq!(total, (0..2000u64).map(|i| (i / 20) * 100 + i % 20).sum::<u64>());
    });
}

// ----- the cap -------------------------------------------------------------

/// Counts jobs running at once. Each job holds on until `cap` jobs run at
/// once (or every job has started), so the cap is reached and, were it not
/// enforced, exceeded.
struct Concurrency {
    state: Mutex<ConcurrencyState>,
    changed: Condvar,
    cap: usize,
    jobs: usize,
}

#[derive(Default)]
struct ConcurrencyState {
    running: usize,
    started: usize,
    most: usize,
}

impl Concurrency {
    fn new(cap: usize, jobs: usize) -> Arc<Concurrency> {
        Arc::new(Concurrency {
            state: Mutex::default(),
            changed: Condvar::new(),
            cap,
            jobs,
        })
    }

    /// The body of one job.
    fn job(&self) {
        let deadline = Instant::now() + DEADLINE;
        let mut state = self.state.lock().unwrap();
        state.running += 1;
        state.started += 1;
        state.most = state.most.max(state.running);
        self.changed.notify_all();
        while state.running < self.cap && state.started < self.jobs {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("a job waited 30 s");
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
        state.running -= 1;
        self.changed.notify_all();
    }

    fn most(&self) -> usize {
        self.state.lock().unwrap().most
    }
}

fn cap_is_respected(procs: usize) {
    const CAP: usize = 4;
    const JOBS: usize = 40;
    let rt = Builder::new().procs(procs).max_blocking_threads(CAP).build().unwrap();
    let seen = Concurrency::new(CAP, JOBS);
    let handle = rt.handle().clone();
    let most_threads = Arc::new(AtomicUsize::new(0));
    let (s, m) = (seen.clone(), most_threads.clone());
    rt.block_on(async move {
        let jobs: Vec<_> = (0..JOBS)
            .map(|_| {
                let (s, m, h) = (s.clone(), m.clone(), handle.clone());
                gpm::spawn_blocking(move || {
                    m.fetch_max(h.stats().blocking_threads, SeqCst);
                    s.job();
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap();
        }
    });
    assert_eq!(seen.most(), CAP, "the cap is reached but never exceeded");
    assert!(
        most_threads.load(SeqCst) <= CAP,
        "{} pool threads",
        most_threads.load(SeqCst)
    );
    assert!(rt.stats().blocking_threads <= CAP);
}

#[test]
fn cap_is_respected_procs_1() {
    with_watchdog(|| cap_is_respected(1));
}

#[test]
fn cap_is_respected_procs_2() {
    with_watchdog(|| cap_is_respected(2));
}

#[test]
fn queued_jobs_run_in_fifo_order() {
    with_watchdog(|| {
        let rt = Builder::new().procs(2).max_blocking_threads(1).build().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        rt.block_on(async move {
            let jobs: Vec<_> = (0..200)
                .map(|i| {
                    let o = o.clone();
                    gpm::spawn_blocking(move || o.lock().unwrap().push(i))
                })
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), (0..200).collect::<Vec<_>>());
    });
}

#[test]
fn zero_max_blocking_threads_is_rejected() {
    let err = Builder::new().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_blocking_threads"), "{err}");
}

// ----- keep-alive ------------------------------------------------------------

#[test]
fn threads_are_reused() {
    with_watchdog(|| {
        let rt = Builder::new()
            .procs(2)
            .blocking_keep_alive(Duration::from_secs(60))
            .build()
            .unwrap();
        let ids = rt.block_on(async {
            let mut ids = HashSet::new();
            for _ in 0..300 {
                ids.insert(gpm::spawn_blocking(|| std::thread::current().id()).await.unwrap());
            }
            ids
        });
        // One at a time, so an idle thread is usually there (2 to 4 threads
        // in practice). But a thread that just finished a job wakes the
        // awaiter before it lists itself idle, and a loaded machine may
        // stall it in between, so the next job starts a thread. Without
        // reuse there would be 300 (the keep-alive is 60 s).
        assert!(ids.len() <= 30, "300 sequential jobs used {} threads", ids.len());
        assert!(rt.stats().blocking_threads <= 30, "{:?}", rt.stats());
    });
}

#[test]
fn idle_threads_exit_after_keep_alive() {
    with_watchdog(|| {
        let rt = Builder::new()
            .procs(1)
            .blocking_keep_alive(Duration::from_millis(20))
            .build()
            .unwrap();
        let seen = Concurrency::new(3, 3);
        let s = seen.clone();
        rt.block_on(async move {
            let jobs: Vec<_> = (0..3)
                .map(|_| {
                    let s = s.clone();
                    gpm::spawn_blocking(move || s.job())
                })
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
        });
        assert_eq!(seen.most(), 3, "three pool threads ran at once");
        // Poll for the exits (the deadline only turns a hang into a failure).
        let deadline = Instant::now() + DEADLINE;
        while rt.stats().blocking_threads > 0 {
            assert!(
                Instant::now() < deadline,
                "idle pool threads never exited: {:?}",
                rt.stats()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // The pool starts threads again.
        let handle = rt.handle().clone();
        let alive = rt.block_on(rt.spawn_blocking(move || handle.stats().blocking_threads));
        assert_eq!(alive.unwrap(), 1, "one new thread for one job");
    });
}

// ----- errors -----------------------------------------------------------------

#[test]
fn a_panic_in_a_job_is_a_join_error() {
    with_watchdog(|| {
        let rt = runtime(2);
        rt.block_on(async {
            let err = gpm::spawn_blocking(|| -> u8 { panic!("boom in a blocking job") })
                .await
                .unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled() && !err.is_spawn_failure());
            let payload = err.into_panic();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in a blocking job"));
            // The pool carries on.
            assert_eq!(gpm::spawn_blocking(|| 3).await.unwrap(), 3);
        });
    });
}

fn thread_start_failure_is_an_error(procs: usize) {
    let rt = Builder::new()
        .procs(procs)
        .fail_blocking_thread_spawns(2)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..2 {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let err = gpm::spawn_blocking(move || r.store(true, SeqCst)).await.unwrap_err();
            assert!(err.is_spawn_failure(), "{err:?}");
            assert!(!err.is_panic() && !err.is_cancelled());
            assert!(err.to_string().contains("injected failure"), "{err}");
            assert!(err.spawn_failure().is_some());
            assert!(!ran.load(SeqCst), "a refused job never runs");
        }
        // Other goroutines were never held up, and the pool recovers.
        assert_eq!(gpm::spawn(async { 1 }).await.unwrap(), 1);
        assert_eq!(gpm::spawn_blocking(|| 2).await.unwrap(), 2);
    });
    assert_eq!(rt.stats().blocking_threads, 1);
}

#[test]
fn thread_start_failure_is_an_error_procs_1() {
    with_watchdog(|| thread_start_failure_is_an_error(1));
}

#[test]
fn thread_start_failure_is_an_error_procs_2() {
    with_watchdog(|| thread_start_failure_is_an_error(2));
}

/// A real refusal by the OS: a stack larger than the address space. No M
/// is ever started (they would fail the same way, which is fatal), so the
/// job is submitted and awaited from this plain thread.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn os_refusing_a_thread_is_an_error_naming_it() {
    with_watchdog(|| {
        let rt = Builder::new().procs(1).thread_stack_size(1 << 50).build().unwrap();
        let job = rt.spawn_blocking(|| 1);
        assert!(job.is_finished(), "a refused job resolves at once");
        let err = futures::executor::block_on(job).unwrap_err();
        assert!(err.is_spawn_failure(), "{err:?}");
        assert!(err.to_string().contains("os error"), "{err}");
        assert!(err.spawn_failure().unwrap().raw_os_error().is_some());
        let io: std::io::Error = err.into();
        assert!(io.to_string().contains("no thread could be started"), "{io}");
        assert_eq!(rt.stats().blocking_threads, 0);
        assert_eq!(rt.stats().threads, 0, "a failed start is not counted");
    });
}

#[test]
fn no_room_under_max_threads_is_an_error() {
    with_watchdog(|| {
        // One thread slot, kept for the one P's M.
        let rt = Builder::new().procs(1).max_threads(1).build().unwrap();
        let err = futures::executor::block_on(rt.spawn_blocking(|| 1)).unwrap_err();
        assert!(err.is_spawn_failure(), "{err:?}");
        assert!(err.to_string().contains("max_threads = 1"), "{err}");
    });
}

/// With `max_threads` = 3 and one P, the pool may have 2 threads: more
/// jobs wait for them (no error, since a pool thread is alive), and the
/// runtime never runs more than 3 threads.
#[test]
fn max_threads_bounds_the_pool_and_extra_jobs_wait() {
    with_watchdog(|| {
        let rt = Builder::new().procs(1).max_threads(3).build().unwrap();
        let seen = Concurrency::new(2, 10);
        let handle = rt.handle().clone();
        let most_threads = Arc::new(AtomicUsize::new(0));
        let (s, m) = (seen.clone(), most_threads.clone());
        rt.block_on(async move {
            let jobs: Vec<_> = (0..10)
                .map(|_| {
                    let (s, m, h) = (s.clone(), m.clone(), handle.clone());
                    gpm::spawn_blocking(move || {
                        m.fetch_max(h.stats().threads, SeqCst);
                        s.job();
                    })
                })
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
        });
        assert_eq!(seen.most(), 2);
        assert!(most_threads.load(SeqCst) <= 3, "{} threads", most_threads.load(SeqCst));
        assert!(rt.stats().blocking_threads <= 2);
    });
}

// ----- from outside, and alongside goroutines ----------------------------------

#[test]
fn spawn_blocking_from_a_plain_thread() {
    with_watchdog(|| {
        let rt = runtime(2);
        let handle = rt.handle().clone();
        let from_thread = std::thread::spawn(move || {
            let job = handle.spawn_blocking(|| 6 * 7);
            futures::executor::block_on(job).unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(from_thread, 42);
        // A job made outside, awaited inside.
        let job = rt.spawn_blocking(|| "outside");
        assert_eq!(rt.block_on(job).unwrap(), "outside");
    });
}

#[test]
#[should_panic(expected = "gpm::spawn_blocking called outside a gpm runtime")]
fn spawn_blocking_outside_a_runtime_panics() {
    drop(gpm::spawn_blocking(|| ()));
}

/// The job blocks its pool thread until every other goroutine has run: on
/// one P, that can only happen if awaiting the job let them have the P.
fn a_goroutine_awaiting_a_job_lets_others_run(procs: usize) {
    const GS: usize = 100;
    let rt = runtime(procs);
    let handle = rt.handle().clone();
    let (all_ran_tx, all_ran_rx) = mpsc::channel();
    let job_result = rt.block_on(async move {
        let job = gpm::spawn_blocking(move || {
            let all_ran = all_ran_rx.recv_timeout(DEADLINE).is_ok();
            (all_ran, handle.dump())
        });
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..GS {
            let (ran, tx) = (ran.clone(), all_ran_tx.clone());
            gpm::go!(async move {
                gpm::yield_now().await;
                if ran.fetch_add(1, SeqCst) + 1 == GS {
                    tx.send(()).unwrap();
                }
            });
        }
        job.await.unwrap()
    });
    let (all_ran, dump) = job_result;
    assert!(
        all_ran,
        "goroutines did not run while a goroutine awaited a blocking job"
    );
    if procs == 1 {
        assert!(dump.starts_with("goroutine 1 [join]:"), "{dump}");
    }
}

#[test]
fn a_goroutine_awaiting_a_job_lets_others_run_procs_1() {
    with_watchdog(|| a_goroutine_awaiting_a_job_lets_others_run(1));
}

#[test]
fn a_goroutine_awaiting_a_job_lets_others_run_procs_2() {
    with_watchdog(|| a_goroutine_awaiting_a_job_lets_others_run(2));
}

#[test]
fn jobs_are_not_goroutines() {
    with_watchdog(|| {
        let rt = runtime(1);
        let handle = rt.handle().clone();
        let (count, id) = rt.block_on(async move {
            let before = gpm::runtime::num_goroutine();
            let job = gpm::spawn_blocking(move || handle.stats().goroutines);
            let id = job.id();
            let during = job.await.unwrap();
            assert_eq!(during, before);
            (gpm::runtime::num_goroutine(), id)
        });
        assert_eq!(count, 1);
        assert!(id > 1, "ids come from the goroutine sequence");
    });
}

// ----- abort and shutdown -----------------------------------------------------

/// A job that tells when it started and then blocks until released (or the
/// deadline); it returns whether it was released.
fn held_job(rt: &Runtime) -> (gpm::JoinHandle<bool>, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let job = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        release_rx.recv_timeout(DEADLINE).is_ok()
    });
    (job, started_rx, release_tx)
}

#[test]
fn abort_cancels_a_queued_job() {
    with_watchdog(|| {
        let rt = Builder::new().procs(1).max_blocking_threads(1).build().unwrap();
        let (first, started, release) = held_job(&rt);
        started.recv_timeout(DEADLINE).unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = rt.spawn_blocking(move || r.store(true, SeqCst));
        queued.abort();
        release.send(()).unwrap();
        assert!(rt.block_on(first).unwrap());
        let err = rt.block_on(queued).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!ran.load(SeqCst));
        // The pool goes on.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 9)).unwrap(), 9);
    });
}

#[test]
fn shutdown_drops_queued_jobs_and_does_not_wait_for_running_ones() {
    with_watchdog(|| {
        let rt = Builder::new().procs(2).max_blocking_threads(1).build().unwrap();
        let handle = rt.handle().clone();
        let (running, started, release) = held_job(&rt);
        started.recv_timeout(DEADLINE).unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let queued: Vec<_> = (0..10)
            .map(|_| {
                let r = ran.clone();
                rt.spawn_blocking(move || r.store(true, SeqCst))
            })
            .collect();
        // A goroutine awaiting a queued job: dropped at shutdown, or (if it
        // was being polled then) it sees the job cancelled.
        let r = ran.clone();
        let waiter = rt.spawn(async move { gpm::spawn_blocking(move || r.store(true, SeqCst)).await });
        drop(rt); // returns while `running` is still blocked
        release.send(()).unwrap();
        assert!(
            futures::executor::block_on(running).unwrap(),
            "shutdown waited for a running job"
        );
        for job in queued {
            let err = futures::executor::block_on(job).unwrap_err();
            assert!(err.is_cancelled(), "{err:?}");
        }
        assert!(!ran.load(SeqCst), "a queued job ran after shutdown");
        match futures::executor::block_on(waiter) {
            Err(g_dropped) => assert!(g_dropped.is_cancelled(), "{g_dropped:?}"),
            Ok(job) => assert!(job.unwrap_err().is_cancelled()),
        }
        // After shutdown: cancelled at once.
        let late = handle.spawn_blocking(|| 1);
        assert!(futures::executor::block_on(late).unwrap_err().is_cancelled());
    });
}
