//! Helpers the ported time tests (`time_tick`, `time_sleep`) share, copied
//! from `tests/time.rs`, where gpm's own timer tests use them too.

use gpm::channel::{Receiver, TryRecvError};
use gpm::runtime::{Builder, Runtime};
use gpm::time::Instant;
use std::time::Duration;

pub(crate) fn rt(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

pub(crate) const SHAPES: [usize; 3] = [1, 2, 4];

/// How long a tick that must come may take (only a missing one reaches it).
pub(crate) const TICK_BOUND: Duration = Duration::from_secs(10);

/// Receives a tick, failing if none comes within [`TICK_BOUND`].
pub(crate) async fn next_tick(ticks: &Receiver<Instant>, what: &str) -> Instant {
    match gpm::time::timeout(TICK_BOUND, ticks.recv()).await {
        Ok(Some(at)) => at,
        Ok(None) => panic!("{what}: the timer channel was closed"),
        Err(_) => panic!("{what}: no tick within {TICK_BOUND:?}"),
    }
}

/// Fails if a value is waiting on the timer channel.
pub(crate) fn no_tick(ticks: &Receiver<Instant>, what: &str) {
    assert_eq!(
        ticks.try_recv().err(),
        Some(TryRecvError::Empty),
        "{what}: a tick was waiting"
    );
}
