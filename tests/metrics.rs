//! `runtime::metrics()`: Go's names, the counters of `stats()`, and the
//! histograms under `Builder::metrics_histograms`.

use gpm::runtime::{Builder, MetricValue};
use std::time::Duration;

/// Go's names are there with the values `stats()` and `gomaxprocs` give.
#[test]
fn go_names_match_stats() {
    for procs in [1, 2, 4] {
        let rt = Builder::new().procs(procs).build().unwrap();
        let (m, stats, settled) = rt.block_on(async {
            let ch = gpm::chan::<()>(0);
            let parked: Vec<_> = (0..3)
                .map(|_| {
                    let ch = ch.clone();
                    gpm::spawn(async move { ch.recv().await })
                })
                .collect();
            // The count holds still from here: none of them can finish
            // before the close below.
            while gpm::runtime::stats().goroutines < 4 {
                gpm::yield_now().await;
            }
            let m = gpm::runtime::metrics();
            let stats = gpm::runtime::stats();
            ch.close().unwrap();
            for h in parked {
                assert_eq!(h.await.unwrap(), None);
            }
            // Counters that other Ms move (steals) hold still only once
            // there is nothing left to steal: every goroutine has finished.
            (m, stats, (gpm::runtime::metrics(), gpm::runtime::stats()))
        });
        assert_eq!(m.uint64("/sched/gomaxprocs:threads"), Some(procs as u64));
        assert_eq!(m.uint64("/sched/goroutines:goroutines"), Some(stats.goroutines as u64));
        assert!(m.uint64("/sched/goroutines:goroutines").unwrap() >= 4);
        let (m, stats) = settled;
        assert_eq!(m.uint64("/gpm/sched/steals:events"), Some(stats.steals));
        assert!(m.uint64("/gpm/sched/parks:events").is_some());
        for s in &m.samples {
            assert!(s.name.starts_with('/') && s.name.contains(':'), "{}", s.name);
            assert!(!s.description.is_empty());
        }
        // Off by default: present but empty, and no per-P histograms.
        assert_eq!(m.histogram("/sched/latencies:seconds").unwrap().total(), 0);
        assert!(m.get("/gpm/sched/poll-time/p0:seconds").is_none());
        assert!(matches!(
            m.get("/sched/gomaxprocs:threads"),
            Some(MetricValue::Uint64(_))
        ));
    }
}

/// With the histograms on, every poll adds a latency and a poll time; a
/// goroutine that spins 2 ms in one poll lands in a bucket at or above
/// 2 ms on its P.
#[test]
fn histograms_sample_latencies_and_poll_times() {
    let rt = Builder::new().procs(2).metrics_histograms(true).build().unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..10).map(|i| gpm::spawn(async move { i })).collect();
        for h in hs {
            h.await.unwrap();
        }
        gpm::spawn(async {
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_millis(2) {
                std::hint::spin_loop();
            }
        })
        .await
        .unwrap();
    });
    // A poll's time is added after the poll returns, which may be after
    // `block_on` does: shutting down joins the Ms first.
    let handle = rt.handle().clone();
    drop(rt);
    let m = handle.metrics();
    let lat = m.histogram("/sched/latencies:seconds").unwrap();
    assert!(lat.total() >= 11, "{lat:?}");
    assert_eq!(lat.buckets.len(), lat.counts.len() + 1);
    assert!(lat.buckets.windows(2).all(|w| w[0] < w[1]));
    let polls: Vec<_> = (0..2)
        .map(|p| m.histogram(&format!("/gpm/sched/poll-time/p{p}:seconds")).unwrap())
        .collect();
    assert!(polls.iter().map(|h| h.total()).sum::<u64>() >= 11, "{polls:?} {lat:?}");
    let long = polls
        .iter()
        .flat_map(|h| h.counts.iter().zip(&h.buckets[1..]))
        .filter(|(n, upper)| **n > 0 && **upper > 0.002)
        .count();
    assert!(long >= 1, "no poll of 2 ms or more: {polls:?}");
}
