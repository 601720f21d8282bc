//! Shaken schedules that can be replayed: `GPM_SHAKE=<seed>` and
//! `Builder::shake(seed)`.
//!
//! Under shake the scheduler makes its random choices differently on
//! purpose (a readied G skips runnext half of the time, as Go's race
//! detector randomises its scheduler), and every random choice it makes
//! comes from the seed: each M of the runtime gets its own stream,
//! derived from the seed and the M's number in the runtime (the order in
//! which the Ms were made), and draws from it the steal order, the runnext
//! skips and `select!`'s case order. The same seed on one P replays the
//! same order of events; a failure seen once under `GPM_SHAKE=1` (a
//! random seed per runtime) prints its seed, and `GPM_SHAKE=<that seed>`
//! replays it.
//!
//! | `GPM_SHAKE` | what it does |
//! | --- | --- |
//! | unset, empty or `0` | no shake |
//! | `1` | shake with a random seed, printed when the runtime sees a panic |
//! | any other `u64` | shake with that seed |
//!
//! Without shake the streams are seeded per thread as before, and none of
//! this costs anything on the hot paths: the check that already tested
//! the flag now tests an `Option`.

use super::shared::Shared;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The value of `GPM_SHAKE` that asks for a random seed.
const RANDOM_SEED: u64 = 1;

/// `GPM_SHAKE` as a seed: `None` when unset, empty, `0` or not a number
/// (reported once on stderr, as Go reports a bad `GOMAXPROCS`); a random
/// seed (above 1) for `1`.
pub(crate) fn from_env() -> Option<u64> {
    let value = std::env::var("GPM_SHAKE").ok()?;
    let value = value.trim();
    match value.parse::<u64>() {
        Ok(0) => None,
        Ok(RANDOM_SEED) => Some(random_seed()),
        Ok(seed) => Some(seed),
        Err(_) if value.is_empty() => None,
        Err(_) => {
            static REPORTED: std::sync::Once = std::sync::Once::new();
            REPORTED.call_once(|| {
                eprintln!("gpm: GPM_SHAKE={value:?} is not a seed (a u64; 1 picks a random one): ignored");
            });
            None
        }
    }
}

/// A fresh seed, never 0 or 1 (which `GPM_SHAKE` reads otherwise).
fn random_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = mix(time ^ mix(COUNTER.fetch_add(1, Relaxed)) ^ u64::from(std::process::id()));
    seed.max(2)
}

/// SplitMix64's finaliser: spreads a counter into a well-mixed word.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The first state of the stream of the `n`th M of a runtime shaken
/// with `seed` (never 0: xorshift's fixed point).
pub(crate) fn m_stream(seed: u64, n: u64) -> u64 {
    mix(seed ^ mix(n)) | 1
}

/// This thread's `select!` stream.
struct SelectRng {
    /// The xorshift state, never 0.
    state: Cell<u64>,
    /// Seeded from a shaken runtime's M ([`seed_thread`]): shuffles start
    /// from the cases' own order, not the address order their locks are
    /// taken in (which changes from run to run), so that a seed replays.
    shaken: Cell<bool>,
}

thread_local! {
    /// The stream `select!` shuffles its cases with on this thread:
    /// seeded from the time and an address, or, on an M of a shaken
    /// runtime, from that M's stream (see [`seed_thread`]).
    static SELECT_RNG: SelectRng = SelectRng {
        state: Cell::new({
            let local = 0u8;
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            (&local as *const u8 as u64 ^ t) | 1
        }),
        shaken: Cell::new(false),
    };
}

/// Seeds this thread's `select!` stream (an M of a shaken runtime, as it
/// starts running the scheduler).
pub(crate) fn seed_thread(state: u64) {
    SELECT_RNG.with(|rng| {
        rng.state.set(mix(state) | 1);
        rng.shaken.set(true);
    });
}

/// Shuffles `items` (Fisher-Yates, xorshift64) with this thread's
/// `select!` stream (Go's `cheaprandn`). On a shaken M the items are
/// sorted first, so the result depends on the stream alone.
pub(crate) fn shuffle(items: &mut [usize]) {
    if items.len() < 2 {
        return;
    }
    SELECT_RNG.with(|rng| {
        if rng.shaken.get() {
            items.sort_unstable();
        }
        let mut x = rng.state.get();
        for i in (1..items.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let j = ((x >> 32) * (i as u64 + 1)) >> 32;
            items.swap(i, j as usize);
        }
        rng.state.set(x);
    });
}

impl Shared {
    /// The seed this runtime is shaken with, if it is.
    pub(crate) fn shake_seed(&self) -> Option<u64> {
        self.config.shake
    }

    /// Prints the shake seed once, for a failure under shake: a panic in
    /// a goroutine or in a `block_on` future.
    pub(crate) fn report_shake_seed(&self) {
        if let Some(seed) = self.config.shake {
            if !self.shake_reported.swap(true, Relaxed) {
                eprintln!("gpm: GPM_SHAKE seed {seed} (rerun with GPM_SHAKE={seed})");
            }
        }
    }
}

/// Prints the runtime's shake seed if dropped while the thread panics
/// (held by `block_on` around its main).
pub(crate) struct ReportOnPanic<'a>(pub(crate) &'a Shared);

impl Drop for ReportOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.report_shake_seed();
        }
    }
}

#[cfg(test)]
mod tests {
    /// Different Ms of one seed, and one M of different seeds, get
    /// different streams; the same pair gets the same one.
    #[test]
    fn streams_follow_the_seed_and_the_m() {
        assert_eq!(super::m_stream(7, 0), super::m_stream(7, 0));
        assert_ne!(super::m_stream(7, 0), super::m_stream(7, 1));
        assert_ne!(super::m_stream(7, 0), super::m_stream(8, 0));
    }

    #[test]
    fn shuffle_reaches_every_order() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..if cfg!(miri) { 500 } else { 10_000 } {
            let mut items = [0, 1, 2];
            super::shuffle(&mut items);
            seen.insert(items);
        }
        assert_eq!(seen.len(), 6, "orders seen: {seen:?}");
    }
}
