//! The scheduler (placeholder map; see the next commits).

pub(crate) mod blocking;
pub(crate) mod checkdead;
pub(crate) mod clock;
pub(crate) mod current;
pub(crate) mod g;
pub(crate) mod global;
mod handoff;
pub(crate) mod hold;
pub(crate) mod idle;
pub(crate) mod loom;
pub(crate) mod m;
pub(crate) mod netpoll;
pub(crate) mod p;
pub(crate) mod park;
mod ready;
pub(crate) mod registry;
pub(crate) mod ring;
pub(crate) mod shared;
mod shutdown;
pub(crate) mod sysmon;
pub(crate) mod timers;
pub(crate) mod trace;
pub(crate) mod wait;

#[cfg(all(test, loom))]
mod loom_tests;
