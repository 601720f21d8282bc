//! The default GOMAXPROCS, as Go 1.25 computes it.
//!
//! 1. `GOMAXPROCS` in the environment, if it is a positive integer (an
//!    invalid value is reported once on stderr and ignored, as Go does);
//! 2. otherwise the number of CPUs this thread may run on
//!    (`Cpus_allowed_list` in `/proc/self/status`, else
//!    [`std::thread::available_parallelism`]), lowered to the CPU limit of
//!    the process's cgroup, rounded up but at least 2, when one is set.
//!
//! The cgroup limit (see [`super::cgroup`]) comes from the process's own
//! cgroup, found through `/proc/self/cgroup` and `/proc/self/mountinfo`
//! (cgroup v1 `cpu` hierarchy first, else v2): `cpu.max` (v2) or
//! `cpu.cfs_quota_us / cpu.cfs_period_us` (v1), the smallest from the
//! cgroup's directory up to its mount point. When the cgroup cannot be
//! found, `/sys/fs/cgroup/cpu.max`, then `/sys/fs/cgroup/cpu/cpu.cfs_*_us`.
//! The value is computed once per process.

use std::sync::OnceLock;

/// The default number of Ps for a new runtime.
pub(crate) fn default_procs() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        match std::env::var("GOMAXPROCS") {
            Ok(value) => match parse_env(&value) {
                Some(n) => return n,
                None => {
                    eprintln!("gpm: ignoring GOMAXPROCS={value:?}: it must be a positive integer, at most {MAX_PROCS}")
                }
            },
            Err(std::env::VarError::NotUnicode(value)) => {
                eprintln!("gpm: ignoring GOMAXPROCS={value:?}: it must be a positive integer")
            }
            Err(std::env::VarError::NotPresent) => {}
        }
        from_machine(affinity_cpus(), cgroup_limit())
    })
}

/// The most Ps a runtime may have: the default `max_threads` (Go's 10 000
/// threads), since every P needs a thread to run it. A P costs about 5 KiB
/// up front (10 000 Ps took 47 MB of RSS here).
pub const MAX_PROCS: usize = super::DEFAULT_MAX_THREADS;

/// Parses a `GOMAXPROCS` value: a positive integer up to [`MAX_PROCS`],
/// spaces around allowed.
pub(crate) fn parse_env(value: &str) -> Option<usize> {
    value.trim().parse::<usize>().ok().filter(|&n| n > 0 && n <= MAX_PROCS)
}

/// Go 1.25's rule: `min(affinity, max(2, ceil(limit)))` when a limit is set.
pub(crate) fn from_machine(affinity: usize, cgroup_limit: Option<f64>) -> usize {
    let affinity = affinity.max(1);
    match cgroup_limit {
        Some(limit) if limit > 0.0 => {
            let limit = (limit.ceil() as usize).max(2);
            affinity.min(limit)
        }
        _ => affinity,
    }
}

/// CPUs in this thread's affinity mask (`Cpus_allowed_list` in
/// /proc/self/status), falling back to what std reports.
fn affinity_cpus() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .and_then(|list| count_cpu_list(list.trim()))
        })
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
}

/// Counts a Linux CPU list such as `0-3,8,10-11`.
pub(crate) fn count_cpu_list(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                n += b.checked_sub(a)? + 1;
            }
            None => {
                part.parse::<usize>().ok()?;
                n += 1;
            }
        }
    }
    (n > 0).then_some(n)
}

/// The CPU limit of this process's cgroup, in CPUs, if one is set.
fn cgroup_limit() -> Option<f64> {
    super::cgroup::cpu_limit(|path| std::fs::read_to_string(path).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values() {
        assert_eq!(parse_env("4"), Some(4));
        assert_eq!(parse_env(" 8 "), Some(8));
        assert_eq!(parse_env("0"), None);
        assert_eq!(parse_env("-1"), None);
        assert_eq!(parse_env("two"), None);
        assert_eq!(parse_env(""), None);
        assert_eq!(parse_env("10000"), Some(MAX_PROCS));
        assert_eq!(parse_env("10001"), None);
        assert_eq!(parse_env("1073741824"), None);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("x"), None);
    }

    #[test]
    fn cgroup_rules() {
        // Go 1.25: ceil(1.5) = 2; a quota below 2 still gives 2 ...
        assert_eq!(from_machine(8, Some(1.5)), 2);
        assert_eq!(from_machine(8, Some(0.5)), 2);
        // ... but never more than the affinity mask allows.
        assert_eq!(from_machine(1, Some(4.0)), 1);
        assert_eq!(from_machine(8, Some(2.5)), 3);
        assert_eq!(from_machine(8, None), 8);
    }
}
