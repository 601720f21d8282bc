//! `runtime::metrics()` (Go's `runtime/metrics`): the scheduler's numbers
//! under Go's metric names where Go has one, and two histograms Go does
//! not keep per P.
//!
//! The histograms are sampled only when the runtime was built with
//! `Builder::metrics_histograms(true)`: each costs, per poll, two clock
//! reads and a relaxed add (see "Cost" in [`Metrics`]). Off, the scheduler
//! pays one load and branch of a config flag where a G is made runnable
//! and where its poll starts.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

/// Set once any runtime of the process samples its histograms: the one
/// load the scheduler's hot path pays for them (a static, not a field
/// behind the G's `Arc<Shared>`); the cold path then checks the G's own
/// runtime ([`Histograms::on`]).
static SAMPLING: AtomicBool = AtomicBool::new(false);

/// Might the current runtime sample its histograms? One relaxed load.
#[inline(always)]
pub(crate) fn sampling() -> bool {
    SAMPLING.load(Relaxed)
}

/// Buckets of a [`Histogram`]: one for 0 ns, then one per power of two of
/// nanoseconds up to 2^40 ns (18 minutes), the last open-ended.
const BUCKETS: usize = 42;

/// A histogram of durations (Go's `metrics.Float64Histogram`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Histogram {
    /// Bucket boundaries in seconds, one more than `counts`: bucket `i`
    /// holds samples in `[buckets[i], buckets[i + 1])`. The last boundary
    /// is `f64::INFINITY`.
    pub buckets: Vec<f64>,
    /// Samples per bucket.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// The number of samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// A metric's value (Go's `metrics.Value`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A count or a gauge.
    Uint64(u64),
    /// A distribution.
    Histogram(Histogram),
}

/// One metric (Go's `metrics.Sample` plus its `metrics.Description`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// Its name: Go's (`/sched/goroutines:goroutines`) where Go has the
    /// metric, else under `/gpm/`; the unit follows the colon.
    pub name: String,
    /// What it measures.
    pub description: &'static str,
    /// Its value when read.
    pub value: Value,
}

/// What `runtime::metrics()` returns: every metric, by name.
///
/// | name | kind | what |
/// | --- | --- | --- |
/// | `/sched/goroutines:goroutines` | count | goroutines alive, `block_on` futures included (Go's) |
/// | `/sched/gomaxprocs:threads` | count | Ps (Go's) |
/// | `/sched/latencies:seconds` | histogram | time from runnable to running, per poll (Go's; sampled only with `Builder::metrics_histograms(true)`, measured to ±1 µs and up to 65 ms, longer waits wrap) |
/// | `/gpm/sched/poll-time/p<N>:seconds` | histogram | how long each poll on P N took (same switch) |
/// | `/gpm/sched/threads:threads` ... `/gpm/net/io-waiting:goroutines` | count | the fields of `Stats`, one metric each (see the list in `Metrics::names`) |
///
/// # Cost
/// With the histograms on, a G made runnable stores a 16-bit microsecond
/// stamp in its metadata (a clock read); its poll reads the clock twice
/// more and adds to two histograms (relaxed adds on shared counters).
/// `stats()`'s counters cost nothing more.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// Every metric, in the order of the table above.
    pub samples: Vec<Sample>,
}

impl Metrics {
    /// The value of the metric `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.samples.iter().find(|s| s.name == name).map(|s| &s.value)
    }

    /// The value of the counter or gauge `name`.
    pub fn uint64(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Value::Uint64(n) => Some(*n),
            Value::Histogram(_) => None,
        }
    }

    /// The histogram `name`.
    pub fn histogram(&self, name: &str) -> Option<&Histogram> {
        match self.get(name)? {
            Value::Histogram(h) => Some(h),
            Value::Uint64(_) => None,
        }
    }
}

/// Counts of one histogram, added to with relaxed atomics.
pub(crate) struct Recorder {
    /// Samples per bucket.
    counts: [AtomicU64; BUCKETS],
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Recorder {
    /// Adds a sample of `ns` nanoseconds.
    pub(crate) fn add(&self, ns: u64) {
        let i = (64 - ns.leading_zeros() as usize).min(BUCKETS - 1);
        self.counts[i].fetch_add(1, Relaxed);
    }

    /// A snapshot.
    pub(crate) fn read(&self) -> Histogram {
        let mut buckets: Vec<f64> = (0..BUCKETS)
            .map(|i| if i == 0 { 0.0 } else { (1u64 << (i - 1)) as f64 * 1e-9 })
            .collect();
        buckets.push(f64::INFINITY);
        Histogram {
            buckets,
            counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
        }
    }
}

/// One runtime's histograms.
pub(crate) struct Histograms {
    /// Sampling is on (`Builder::metrics_histograms`).
    pub(crate) on: bool,
    /// `/sched/latencies:seconds`.
    pub(crate) latencies: Recorder,
    /// `/gpm/sched/poll-time/p<N>:seconds`, by P.
    pub(crate) polls: Box<[Recorder]>,
}

impl Histograms {
    pub(crate) fn new(on: bool, procs: usize) -> Histograms {
        if on {
            SAMPLING.store(true, Relaxed);
        }
        Histograms {
            on,
            latencies: Recorder::default(),
            polls: (0..if on { procs } else { 0 }).map(|_| Recorder::default()).collect(),
        }
    }
}

/// Microseconds since a process-wide instant, modulo 2^16: a G's runnable
/// stamp (kept in its 16-bit `since`, unused while it is runnable).
pub(crate) fn stamp() -> u16 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u16
}

/// Nanoseconds from the stamp `then` to now (modulo 65.536 ms).
pub(crate) fn since_stamp(then: u16) -> u64 {
    u64::from(stamp().wrapping_sub(then)) * 1000
}

/// Builds the metrics of a runtime from its `Stats` and histograms.
pub(crate) fn collect(stats: &super::Stats, h: &Histograms) -> Metrics {
    let mut samples = Vec::new();
    let mut count = |name: &str, description: &'static str, n: u64| {
        samples.push(Sample {
            name: name.to_string(),
            description,
            value: Value::Uint64(n),
        })
    };
    count(
        "/sched/goroutines:goroutines",
        "goroutines alive, block_on futures included",
        stats.goroutines as u64,
    );
    count(
        "/sched/gomaxprocs:threads",
        "Ps: the goroutines that can run at once (GOMAXPROCS)",
        stats.procs as u64,
    );
    count(
        "/gpm/sched/threads:threads",
        "threads the runtime started, alive (Ms and blocking-pool threads)",
        stats.threads as u64,
    );
    count(
        "/gpm/sched/blocking-threads:threads",
        "blocking-pool threads alive",
        stats.blocking_threads as u64,
    );
    count(
        "/gpm/sched/idle-threads:threads",
        "Ms asleep on the idle list",
        stats.idle_threads as u64,
    );
    count(
        "/gpm/sched/spinning-threads:threads",
        "Ms looking for work",
        stats.spinning_threads as u64,
    );
    count("/gpm/sched/idle-procs:procs", "Ps no M holds", stats.idle_procs as u64);
    count(
        "/gpm/sched/global-queue:goroutines",
        "goroutines in the global run queue",
        stats.global_queue as u64,
    );
    count(
        "/gpm/sched/local-queues:goroutines",
        "goroutines in the Ps' rings and yield lists (runnext not included)",
        stats.local_queues.iter().sum::<usize>() as u64,
    );
    count(
        "/gpm/sched/steals:events",
        "successful steals of half a ring",
        stats.steals,
    );
    count(
        "/gpm/sched/stolen:goroutines",
        "goroutines moved by those steals",
        stats.stolen,
    );
    count(
        "/gpm/sched/runnext-steals:events",
        "steals of another P's runnext",
        stats.runnext_steals,
    );
    count(
        "/gpm/sched/spills:events",
        "times a full ring moved half of itself to the global queue",
        stats.spills,
    );
    count(
        "/gpm/sched/parks:events",
        "times an M went to sleep for lack of work",
        stats.parks,
    );
    count(
        "/gpm/sched/retakes:events",
        "Ps sysmon took from an M stuck in a poll or a syscall",
        stats.retakes,
    );
    count(
        "/gpm/time/timers:timers",
        "timers armed and not yet fired or cancelled",
        stats.timers as u64,
    );
    count(
        "/gpm/net/sources:sources",
        "sockets registered with the netpoller",
        stats.net_sources as u64,
    );
    count(
        "/gpm/net/io-waiting:goroutines",
        "goroutines waiting for a socket (IO wait)",
        stats.io_waiting as u64,
    );
    samples.push(Sample {
        name: "/sched/latencies:seconds".into(),
        description: "time goroutines spent runnable before they ran (sampled with Builder::metrics_histograms)",
        value: Value::Histogram(h.latencies.read()),
    });
    for (p, r) in h.polls.iter().enumerate() {
        samples.push(Sample {
            name: format!("/gpm/sched/poll-time/p{p}:seconds"),
            description: "how long each poll of a goroutine on this P took (sampled with Builder::metrics_histograms)",
            value: Value::Histogram(r.read()),
        });
    }
    Metrics { samples }
}

#[cfg(test)]
mod tests {
    use super::Recorder;

    #[test]
    fn samples_land_in_power_of_two_buckets() {
        let r = Recorder::default();
        for ns in [0, 1, 2, 3, 1000, u64::MAX] {
            r.add(ns);
        }
        let h = r.read();
        assert_eq!(h.buckets.len(), h.counts.len() + 1);
        assert_eq!(h.counts[0], 1); // 0
        assert_eq!(h.counts[1], 1); // 1 ns: [1, 2)
        assert_eq!(h.counts[2], 2); // 2, 3: [2, 4)
        assert_eq!(h.counts[10], 1); // 1000: [512, 1024)
        assert!(h.buckets[10] <= 1000e-9 && 1000e-9 < h.buckets[11]);
        assert_eq!(*h.counts.last().unwrap(), 1);
        assert_eq!(h.total(), 6);
    }
}
