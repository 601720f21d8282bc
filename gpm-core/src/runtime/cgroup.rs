//! The CPU quota of this process's own cgroup (Linux, cgroup v1 and v2), for
//! the default GOMAXPROCS.
//!
//! Go's `internal/runtime/cgroup` finds the cgroup the same way:
//!
//! 1. `/proc/self/cgroup` names the process's cgroup in each hierarchy
//!    (`hierarchy-id:controllers:path`). A v1 hierarchy whose controllers
//!    include `cpu` (`4:cpu,cpuacct:/a/b`) wins; else the v2 line (`0::/a/b`).
//! 2. `/proc/self/mountinfo` says where that hierarchy is mounted: a
//!    `cgroup2` mount for v2, a `cgroup` mount with `cpu` in its super
//!    options for v1. Its mount point and root are octal-escaped
//!    (`\040` for a space).
//! 3. The cgroup's directory is the mount point plus the cgroup path with
//!    the mount's root taken off the front.
//! 4. The limit is `cpu.max` (v2: `quota period`, or `max`) or
//!    `cpu.cfs_quota_us / cpu.cfs_period_us` (v1; a quota of -1 is none).
//!
//! Two differences from Go, both where Go would miss a limit the kernel
//! enforces:
//!
//! - Go appends the whole cgroup path to the mount point; we take the
//!   mount's root off first. Without a cgroup namespace (a v1 container,
//!   or `--cgroupns=host`) the mount's root is the container's cgroup, say
//!   `/docker/abc`, and `/proc/self/cgroup` says `/docker/abc` too: the
//!   directory is the mount point itself, not `<mount point>/docker/abc`.
//! - Go reads only the process's own cgroup (its runtime notes that a
//!   parent's tighter limit is missed). We read every directory from the
//!   cgroup up to the mount point and take the smallest limit, which is the
//!   one the process gets.
//!
//! When the cgroup cannot be found (no `/proc`, no matching mount, a path
//! outside every mount) we read `/sys/fs/cgroup/cpu.max`, then
//! `/sys/fs/cgroup/cpu/cpu.cfs_{quota,period}_us`, as gpm always did.
//! Anything unreadable or malformed counts as "no limit".
//!
//! Every function here is pure over a `read` function (a path to the file's
//! text), so the tests feed sample `/proc` files and a made-up tree.

use std::path::{Component, Path, PathBuf};

/// Which cgroup hierarchy holds the CPU controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// A v1 hierarchy with the `cpu` controller.
    V1,
    /// The v2 unified hierarchy.
    V2,
}

/// The process's CPU cgroup, located in the file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CpuCgroup {
    /// Which files hold the limit.
    pub(crate) version: Version,
    /// The cgroup's own directory.
    pub(crate) dir: PathBuf,
    /// Where its hierarchy is mounted: the last directory read going up.
    pub(crate) mount_point: PathBuf,
}

/// The CPU limit (quota / period, in CPUs) that applies to this process,
/// or `None` if there is none. `read` returns a file's text, `None` if it
/// cannot be read.
pub(crate) fn cpu_limit(read: impl Fn(&Path) -> Option<String>) -> Option<f64> {
    let found = read(Path::new("/proc/self/cgroup")).and_then(|cgroups| {
        let mountinfo = read(Path::new("/proc/self/mountinfo"))?;
        find(&cgroups, &mountinfo)
    });
    match found {
        Some(cgroup) => smallest_limit(&cgroup, &read),
        None => fixed_paths_limit(&read),
    }
}

/// Locates the process's CPU cgroup from the text of `/proc/self/cgroup`
/// and `/proc/self/mountinfo`. A v1 `cpu` hierarchy is tried first (Go's
/// precedence), then v2.
pub(crate) fn find(cgroups: &str, mountinfo: &str) -> Option<CpuCgroup> {
    own_cgroups(cgroups).into_iter().find_map(|(version, path)| {
        let (mount_point, rel) = mount_for(mountinfo, version, path)?;
        let dir = mount_point.join(rel.trim_start_matches('/'));
        Some(CpuCgroup {
            version,
            dir,
            mount_point,
        })
    })
}

/// The process's cgroup paths from `/proc/self/cgroup`, best first: the
/// v1 hierarchy with the `cpu` controller, then the v2 one.
pub(crate) fn own_cgroups(text: &str) -> Vec<(Version, &str)> {
    let mut v1 = None;
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2.get_or_insert(path);
        } else if has_cpu(controllers) {
            v1.get_or_insert(path);
        }
    }
    let v1 = v1.map(|p| (Version::V1, p));
    let v2 = v2.map(|p| (Version::V2, p));
    v1.into_iter().chain(v2).collect()
}

/// True if a comma-separated list names the `cpu` controller (not just
/// `cpuacct` or `cpuset`).
fn has_cpu(list: &str) -> bool {
    list.split(',').any(|c| c == "cpu")
}

/// The mount point of `version`'s hierarchy in which `path` is visible,
/// and `path` relative to it. Of several such mounts, the one whose root
/// is shortest: it shows the most of the cgroup's ancestors.
fn mount_for(mountinfo: &str, version: Version, path: &str) -> Option<(PathBuf, String)> {
    if !is_plain_absolute(path) {
        return None;
    }
    mountinfo
        .lines()
        .filter_map(parse_mount)
        .filter(|m| match version {
            Version::V2 => m.fs_type == "cgroup2",
            Version::V1 => m.fs_type == "cgroup" && has_cpu(m.super_options),
        })
        .filter_map(|m| {
            let rel = strip_root(path, &m.root)?;
            Some((m.root.len(), PathBuf::from(m.mount_point), rel.to_owned()))
        })
        .min_by_key(|(root_len, ..)| *root_len)
        .map(|(_, mount_point, rel)| (mount_point, rel))
}

/// An absolute path without `.` or `..` components (a cgroup outside the
/// process's cgroup namespace shows as `/../..`: we cannot see it).
fn is_plain_absolute(path: &str) -> bool {
    let path = Path::new(path);
    path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// `path` relative to a mount whose root is `root`, if it lies under it.
fn strip_root<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    if root == "/" {
        return Some(path);
    }
    match path.strip_prefix(root.trim_end_matches('/'))? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None, // `/ab` is not under `/a`
    }
}

/// The fields of a mountinfo line that matter here.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Mount<'a> {
    /// (4) The directory of the file system mounted here, unescaped.
    pub(crate) root: String,
    /// (5) Where it is mounted, unescaped.
    pub(crate) mount_point: String,
    /// (9) `cgroup`, `cgroup2`, `ext4`, ...
    pub(crate) fs_type: &'a str,
    /// (11) For a v1 cgroup mount, its controllers among other options.
    pub(crate) super_options: &'a str,
}

/// Parses one line of `/proc/self/mountinfo` (`man 5 proc_pid_mountinfo`):
///
/// ```text
/// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
/// (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
/// ```
///
/// (7) is zero or more optional fields; (8) the lone `-` ends them.
pub(crate) fn parse_mount(line: &str) -> Option<Mount<'_>> {
    let mut fields = line.split(' ');
    let root = unescape(fields.nth(3)?)?;
    let mount_point = unescape(fields.next()?)?;
    fields.find(|&f| f == "-")?;
    let fs_type = fields.next()?;
    let _source = fields.next()?;
    let super_options = fields.next().unwrap_or("");
    Some(Mount {
        root,
        mount_point,
        fs_type,
        super_options,
    })
}

/// Undoes the kernel's escaping of mountinfo paths (`show_path`): a space,
/// tab, newline or backslash is written as `\` and three octal digits.
/// `None` for a broken escape.
pub(crate) fn unescape(field: &str) -> Option<String> {
    if !field.contains('\\') {
        return Some(field.to_owned());
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let digits = bytes.get(i + 1..i + 4)?;
        let mut value: u32 = 0;
        for &d in digits {
            if !(b'0'..=b'7').contains(&d) {
                return None;
            }
            value = value * 8 + u32::from(d - b'0');
        }
        out.push(u8::try_from(value).ok()?);
        i += 4;
    }
    String::from_utf8(out).ok()
}

/// The smallest limit set on the cgroup or any ancestor up to (and with)
/// its mount point: the kernel enforces every one of them.
pub(crate) fn smallest_limit(cgroup: &CpuCgroup, read: impl Fn(&Path) -> Option<String>) -> Option<f64> {
    cgroup
        .dir
        .ancestors()
        .take_while(|dir| dir.starts_with(&cgroup.mount_point))
        .filter_map(|dir| dir_limit(cgroup.version, dir, &read))
        .reduce(f64::min)
}

/// The limit set in one cgroup directory, if any.
fn dir_limit(version: Version, dir: &Path, read: impl Fn(&Path) -> Option<String>) -> Option<f64> {
    match version {
        Version::V2 => parse_cpu_max(&read(&dir.join("cpu.max"))?),
        Version::V1 => parse_v1(
            &read(&dir.join("cpu.cfs_quota_us"))?,
            &read(&dir.join("cpu.cfs_period_us"))?,
        ),
    }
}

/// What gpm read before it looked for its own cgroup: the v2 root's
/// `cpu.max`, else the usual v1 mount's files.
pub(crate) fn fixed_paths_limit(read: impl Fn(&Path) -> Option<String>) -> Option<f64> {
    if let Some(text) = read(Path::new("/sys/fs/cgroup/cpu.max")) {
        return parse_cpu_max(&text);
    }
    dir_limit(Version::V1, Path::new("/sys/fs/cgroup/cpu"), read)
}

/// Parses cgroup v2's `cpu.max`: `max 100000` (no limit) or
/// `150000 100000` (1.5 CPUs).
pub(crate) fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut parts = text.split_whitespace();
    let quota = parts.next()?;
    let period = parts.next()?;
    if quota == "max" || parts.next().is_some() {
        return None;
    }
    ratio(quota, period)
}

/// Parses cgroup v1's `cpu.cfs_quota_us` (`-1`: no limit) and
/// `cpu.cfs_period_us`.
pub(crate) fn parse_v1(quota: &str, period: &str) -> Option<f64> {
    ratio(quota.trim(), period.trim())
}

/// quota / period, both positive integers (microseconds).
fn ratio(quota: &str, period: &str) -> Option<f64> {
    let quota: i64 = quota.parse().ok()?;
    let period: i64 = period.parse().ok()?;
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A made-up file system: path -> text.
    fn fs(files: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let files: HashMap<String, String> = files.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())).collect();
        move |path: &Path| files.get(path.to_str()?).cloned()
    }

    const V2_MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/root rw
20 22 0:19 / /proc rw,nosuid,nodev,noexec - proc proc rw
25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:4 - cgroup2 cgroup2 rw,nsdelegate
";

    /// A systemd host with v1 controllers and the v2 hierarchy beside them
    /// (this file's author's CI machine).
    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn v2_nested_cgroup_with_the_limit_below_the_root() {
        // The root cgroup has no cpu.max; the service's slice sets none;
        // the service itself sets 1.5 CPUs.
        let read = fs(&[
            ("/proc/self/cgroup", "0::/system.slice/app.service\n"),
            ("/proc/self/mountinfo", V2_MOUNTINFO),
            ("/sys/fs/cgroup/system.slice/cpu.max", "max 100000\n"),
            ("/sys/fs/cgroup/system.slice/app.service/cpu.max", "150000 100000\n"),
        ]);
        assert_eq!(cpu_limit(&read), Some(1.5));
        // gpm used to read the root's cpu.max only, and found no limit.
        assert_eq!(fixed_paths_limit(&read), None);
    }

    #[test]
    fn a_parent_with_a_tighter_limit_wins() {
        let read = fs(&[
            ("/proc/self/cgroup", "0::/a/b\n"),
            ("/proc/self/mountinfo", V2_MOUNTINFO),
            ("/sys/fs/cgroup/a/cpu.max", "50000 100000\n"),
            ("/sys/fs/cgroup/a/b/cpu.max", "400000 100000\n"),
        ]);
        assert_eq!(cpu_limit(&read), Some(0.5));
    }

    #[test]
    fn the_walk_stops_at_the_mount_point() {
        // A cpu.max above the mount point is not a cgroup file.
        let mountinfo = "25 21 0:22 / /run/cg rw - cgroup2 cgroup2 rw\n";
        let read = fs(&[
            ("/proc/self/cgroup", "0::/x\n"),
            ("/proc/self/mountinfo", mountinfo),
            ("/run/cpu.max", "10000 100000\n"),
            ("/run/cg/cpu.max", "300000 100000\n"),
            ("/run/cg/x/cpu.max", "max 100000\n"),
        ]);
        assert_eq!(cpu_limit(&read), Some(3.0));
    }

    #[test]
    fn container_whose_cgroup_root_is_slash() {
        // A cgroup namespace: the container sees itself as `/`, and its
        // limit is in the mount point's cpu.max.
        let read = fs(&[
            ("/proc/self/cgroup", "0::/\n"),
            ("/proc/self/mountinfo", V2_MOUNTINFO),
            ("/sys/fs/cgroup/cpu.max", "250000 100000\n"),
        ]);
        let found = find("0::/\n", V2_MOUNTINFO).unwrap();
        assert_eq!(found.dir, Path::new("/sys/fs/cgroup"));
        assert_eq!(cpu_limit(&read), Some(2.5));
    }

    #[test]
    fn v1_container_without_a_cgroup_namespace() {
        // The mount's root is the container's own cgroup: the directory is
        // the mount point (Go would look in .../cpu,cpuacct/docker/abc).
        let mountinfo = "\
1100 1090 0:44 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid master:20 - cgroup cgroup rw,cpu,cpuacct
1101 1090 0:45 /docker/abc /sys/fs/cgroup/memory ro,nosuid master:21 - cgroup cgroup rw,memory
";
        let cgroups = "\
12:memory:/docker/abc
4:cpu,cpuacct:/docker/abc
1:name=systemd:/docker/abc
";
        let read = fs(&[
            ("/proc/self/cgroup", cgroups),
            ("/proc/self/mountinfo", mountinfo),
            ("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n"),
            ("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n"),
        ]);
        let found = find(cgroups, mountinfo).unwrap();
        assert_eq!(found.version, Version::V1);
        assert_eq!(found.dir, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(cpu_limit(&read), Some(2.0));
        // Nested below the mount's root: the relative part is appended.
        let cgroups = "4:cpu,cpuacct:/docker/abc/worker\n";
        let found = find(cgroups, mountinfo).unwrap();
        assert_eq!(found.dir, Path::new("/sys/fs/cgroup/cpu,cpuacct/worker"));
    }

    #[test]
    fn hybrid_prefers_the_v1_cpu_hierarchy() {
        let cgroups = "\
9:name=systemd:/user.slice
4:cpuset:/
2:cpuacct:/
1:cpu:/user.slice/job
0::/user.slice/other
";
        let found = find(cgroups, HYBRID_MOUNTINFO).unwrap();
        assert_eq!(found.version, Version::V1);
        assert_eq!(found.dir, Path::new("/sys/fs/cgroup/cpu/user.slice/job"));
        assert_eq!(found.mount_point, Path::new("/sys/fs/cgroup/cpu"));
        let read = fs(&[
            ("/proc/self/cgroup", cgroups),
            ("/proc/self/mountinfo", HYBRID_MOUNTINFO),
            ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n"),
            ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n"),
            ("/sys/fs/cgroup/cpu/user.slice/job/cpu.cfs_quota_us", "350000\n"),
            ("/sys/fs/cgroup/cpu/user.slice/job/cpu.cfs_period_us", "100000\n"),
        ]);
        assert_eq!(cpu_limit(&read), Some(3.5));
        // The quota of -1 at the mount point is "no limit".
        assert_eq!(fixed_paths_limit(&read), None);
    }

    #[test]
    fn a_v1_line_without_a_v1_mount_falls_to_v2() {
        // Only the v2 hierarchy is mounted (a container's view).
        let cgroups = "1:cpu,cpuacct:/a\n0::/b\n";
        let found = find(cgroups, V2_MOUNTINFO).unwrap();
        assert_eq!(found.version, Version::V2);
        assert_eq!(found.dir, Path::new("/sys/fs/cgroup/b"));
    }

    #[test]
    fn escaped_mount_paths() {
        let mountinfo = "30 21 0:22 / /mnt/my\\040cgroups\\134v2 rw - cgroup2 cgroup2 rw\n";
        let found = find("0::/job\n", mountinfo).unwrap();
        assert_eq!(found.dir, Path::new("/mnt/my cgroups\\v2/job"));
        assert_eq!(unescape("/a/b\\011b"), Some("/a/b\tb".into()));
        assert_eq!(unescape("/a/b\\012b"), Some("/a/b\nb".into()));
        assert_eq!(unescape("\\134b/c"), Some("\\b/c".into()));
        // Broken escapes: the mount is skipped, never a panic.
        assert_eq!(unescape("/a\\04"), None);
        assert_eq!(unescape("/a\\"), None);
        assert_eq!(unescape("/a\\089"), None);
        assert_eq!(unescape("/a\\777"), None);
        assert_eq!(
            find("0::/job\n", "30 21 0:22 / /mnt/x\\04 rw - cgroup2 cgroup2 rw\n"),
            None
        );
    }

    #[test]
    fn the_shortest_mount_root_is_used() {
        // The same hierarchy bind-mounted twice: the mount that shows more
        // ancestors lets the walk see a parent's limit.
        let mountinfo = "\
40 21 0:22 /a /inner rw - cgroup2 cgroup2 rw
41 21 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
";
        let found = find("0::/a/b\n", mountinfo).unwrap();
        assert_eq!(found.dir, Path::new("/sys/fs/cgroup/a/b"));
        assert_eq!(found.mount_point, Path::new("/sys/fs/cgroup"));
    }

    #[test]
    fn nothing_found_falls_back_to_the_fixed_paths() {
        let fixed = [("/sys/fs/cgroup/cpu.max", "200000 100000\n")];
        // No /proc at all.
        assert_eq!(cpu_limit(fs(&fixed)), Some(2.0));
        // No cgroup mount.
        let no_mount = [
            ("/proc/self/cgroup", "0::/a\n"),
            ("/proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/root rw\n"),
            fixed[0],
        ];
        assert_eq!(cpu_limit(fs(&no_mount)), Some(2.0));
        // A cgroup outside the mount's root, or outside the namespace.
        let outside = "40 21 0:22 /a /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(find("0::/ab\n", outside), None);
        assert_eq!(find("0::/../../x\n", V2_MOUNTINFO), None);
        // v1 fixed files.
        let v1 = [
            ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "150000\n"),
            ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n"),
        ];
        assert_eq!(cpu_limit(fs(&v1)), Some(1.5));
        assert_eq!(cpu_limit(fs(&[])), None);
    }

    #[test]
    fn odd_files_mean_no_limit() {
        for text in [
            "",
            "\n",
            "garbage",
            "max",
            "150000",
            "1 2 3",
            "-5 100000",
            "100 0",
            "x 100000",
        ] {
            assert_eq!(parse_cpu_max(text), None, "{text:?}");
        }
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cpu_max("150000 100000"), Some(1.5));
        assert_eq!(parse_v1("-1\n", "100000\n"), None);
        assert_eq!(parse_v1("50000\n", "100000\n"), Some(0.5));
        assert_eq!(parse_v1("50000\n", "0\n"), None);
        assert_eq!(parse_v1("", "100000"), None);
        // Malformed /proc files: no cgroup found, never a panic.
        for cgroups in ["", "nonsense", "0:", ":::", "0::relative\n", "5:cpu\n"] {
            assert_eq!(find(cgroups, V2_MOUNTINFO), None, "{cgroups:?}");
        }
        for mountinfo in ["", "1 2 3", "1 2 3 / /sys/fs/cgroup rw", "1 2 3 / /x rw -"] {
            assert_eq!(find("0::/\n", mountinfo), None, "{mountinfo:?}");
        }
        // A malformed cpu.max in the cgroup itself: no limit from it, the
        // parent's still counts.
        let read = fs(&[
            ("/proc/self/cgroup", "0::/a/b\n"),
            ("/proc/self/mountinfo", V2_MOUNTINFO),
            ("/sys/fs/cgroup/a/cpu.max", "200000 100000\n"),
            ("/sys/fs/cgroup/a/b/cpu.max", "lots\n"),
        ]);
        assert_eq!(cpu_limit(&read), Some(2.0));
    }

    #[test]
    fn own_cgroup_lines() {
        assert_eq!(
            own_cgroups("2:cpu,cpuacct:/a/b/cpu\n1:blkio:/a/b/blkio\n0::/a/b/v2\n"),
            vec![(Version::V1, "/a/b/cpu"), (Version::V2, "/a/b/v2")]
        );
        assert_eq!(own_cgroups("0::/a/b/c\n"), vec![(Version::V2, "/a/b/c")]);
        // cpuacct and cpuset are not the cpu controller.
        assert_eq!(own_cgroups("3:cpuset:/x\n2:cpuacct:/y\n"), vec![]);
        // A path may hold a colon.
        assert_eq!(own_cgroups("0::/a:b\n"), vec![(Version::V2, "/a:b")]);
    }

    #[test]
    fn mountinfo_fields() {
        let m =
            parse_mount("56 22 0:40 / /sys/fs/cgroup/cpu rw shared:1 master:2 - cgroup cgroup rw,cpu,cpuacct").unwrap();
        assert_eq!(m.root, "/");
        assert_eq!(m.mount_point, "/sys/fs/cgroup/cpu");
        assert_eq!(m.fs_type, "cgroup");
        assert!(has_cpu(m.super_options));
        assert!(!has_cpu("rw,cpuacct"));
    }
}
