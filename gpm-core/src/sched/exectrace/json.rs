//! The trace written as Chrome / Perfetto trace-event JSON
//! (`{"traceEvents": [...]}`), which ui.perfetto.dev and chrome://tracing
//! open as they are.
//!
//! - Process 1, "Ps": one track per P. A G's poll is a complete slice
//!   (`"ph": "X"`) named `g<goid> <spawn site>` on the track of the P it ran
//!   with, its arguments saying why it stopped. Steals, spills, hand-offs,
//!   retakes and preemptions are instants (`"i"`) there.
//! - Process 2, "Ms": one track per thread that recorded (Ms, sysmon, the
//!   blocking pool, foreign threads): parked, spinning, syscall and
//!   blocking-job slices; a poll that had no P.
//! - Wake edges are flows (`"s"` at the waker, `"f"` with `"bp": "e"` at the
//!   start of the woken G's next poll): from the waker's poll slice, or from
//!   a zero-length `ready` slice on the waking thread's track.
//! - User regions and tasks are async slices (`"b"` / `"e"`) of process 1.
//!
//! Slices on a track nest or follow each other, as the format wants: a G
//! slice that overlaps the next one on its P (sysmon took the P from a
//! stuck poll) ends where the next begins; other overlaps are clipped to
//! their parent.

use super::super::site;
use super::super::wait::WaitReason;
use super::buffer::Collected;
use super::event::{Event, Kind, Source, Stop, SyscallExit};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Process id of the P tracks.
const PS: u32 = 1;
/// Process id of the M (thread) tracks.
const MS: u32 = 2;

/// A track: `(pid, tid)`.
type Track = (u32, u32);

/// The P track of P `p`.
fn p_track(p: i32) -> Track {
    (PS, p as u32 + 1)
}

/// A complete slice, before it is written.
struct Slice {
    /// Its track.
    track: Track,
    /// Start, ns since the trace began.
    start: u64,
    /// End, ns since the trace began.
    end: u64,
    /// Its name.
    name: String,
    /// Its category.
    cat: &'static str,
    /// Its `args` object, as JSON members (`"k":v,...`), maybe empty.
    args: String,
    /// The goroutine of a G slice (flows end at these).
    goid: Option<u64>,
}

/// One line of the output, with where and when, for sorting.
struct Line {
    /// Its track.
    track: Track,
    /// Its time stamp (ns since the trace began).
    ts: u64,
    /// Longer slices first at the same time, so that parents come first.
    neg_dur: i64,
    /// The JSON object.
    json: String,
}

/// A wake edge, before it is matched with the woken G's next poll.
struct Wake {
    /// When.
    ts: u64,
    /// Where its flow starts.
    track: Track,
    /// The woken G.
    goid: u64,
    /// What woke it.
    source: u64,
    /// The goroutine that woke it (0: none, an M's own work).
    waker: u64,
    /// Whether `track` needs a `ready` slice for the flow to start from.
    needs_slice: bool,
}

/// Writes `collected` (a trace from `started` to `ended`, in `now()` ns) to
/// `out`.
pub(super) fn write(collected: &Collected, started: u64, ended: u64, out: &mut dyn Write) -> io::Result<()> {
    let rel = |ts: u64| ts.saturating_sub(started);
    let end_rel = rel(ended);
    let mut by_thread: HashMap<u32, Vec<Event>> = HashMap::new();
    for (tid, events) in &collected.chunks {
        by_thread.entry(*tid).or_default().extend(events.iter().copied());
    }
    let mut slices: Vec<Slice> = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut wakes: Vec<Wake> = Vec::new();
    let mut procs: i32 = 0;
    let mut sites = Sites::default();
    // Regions and tasks may end on another thread than they began on.
    let mut begun: HashMap<(&str, u64), &'static str> = HashMap::new();
    let mut ended: std::collections::HashSet<(&str, u64)> = std::collections::HashSet::new();
    for e in by_thread.values().flatten() {
        match e.kind {
            Kind::RegionBegin => {
                begun.insert(("region", e.a), name_of(e));
            }
            Kind::TaskBegin => {
                begun.insert(("task", e.a), name_of(e));
            }
            Kind::RegionEnd => {
                ended.insert(("region", e.a));
            }
            Kind::TaskEnd => {
                ended.insert(("task", e.a));
            }
            _ => {}
        }
    }
    let mut tids: Vec<u32> = by_thread.keys().copied().collect();
    tids.sort_unstable();
    for &tid in &tids {
        let mut events = by_thread.remove(&tid).unwrap_or_default();
        events.sort_by_key(|e| e.ts);
        let m = (MS, tid);
        // Open G polls on this thread: (event, track).
        let mut polls: Vec<(Event, Track)> = Vec::new();
        // Open M-level spans by kind of their end: (start, name, args).
        let mut open: HashMap<u8, (u64, String, String)> = HashMap::new();
        for e in events {
            let ts = rel(e.ts);
            procs = procs.max(e.p + 1);
            let here = if e.p >= 0 { p_track(e.p) } else { m };
            match e.kind {
                Kind::None => {}
                Kind::GoStart => polls.push((e, here)),
                Kind::GoStop => {
                    let Some(i) = polls.iter().rposition(|(s, _)| s.a == e.a) else {
                        continue;
                    };
                    let (start, track) = polls.remove(i);
                    let mut end = match e.b {
                        b if b == Stop::Blocked as u64 => format!(
                            "\"end\":\"blocked\",\"wait\":{}",
                            json_str(WaitReason::from_u8(e.c as u8).as_str())
                        ),
                        b => format!("\"end\":{}", json_str(Stop::as_str(b))),
                    };
                    if e.p != start.p {
                        let _ = write!(end, ",\"p_at_end\":{}", e.p);
                    }
                    slices.push(g_slice(&mut sites, &start, track, rel(start.ts), ts, end));
                }
                Kind::Wake => {
                    let inside = polls.last().map(|(_, t)| *t);
                    wakes.push(Wake {
                        ts,
                        track: inside.unwrap_or(m),
                        goid: e.a,
                        source: e.b,
                        waker: e.c,
                        needs_slice: inside.is_none(),
                    });
                }
                Kind::Steal => lines.push(instant(here, ts, "steal", format!("\"from_p\":{},\"gs\":{}", e.a, e.b))),
                Kind::RunnextSteal => lines.push(instant(here, ts, "steal runnext", format!("\"from_p\":{}", e.a))),
                Kind::Spill => lines.push(instant(here, ts, "spill to global queue", String::new())),
                Kind::Handoff => lines.push(instant(
                    here,
                    ts,
                    "hand off P",
                    format!("\"p\":{},\"spinning\":{}", e.a, e.b != 0),
                )),
                Kind::Retake => lines.push(instant(
                    here,
                    ts,
                    "sysmon: retake P",
                    format!("\"p\":{},\"in_syscall\":{}", e.a, e.b != 0),
                )),
                Kind::Preempt => lines.push(instant(here, ts, "sysmon: preempt", format!("\"p\":{}", e.a))),
                Kind::Park => {
                    open.insert(Kind::Unpark as u8, (ts, "parked".into(), String::new()));
                }
                Kind::SpinStart => {
                    open.insert(Kind::SpinStop as u8, (ts, "spinning".into(), String::new()));
                }
                Kind::SyscallEnter => {
                    open.insert(
                        Kind::SyscallExit as u8,
                        (ts, "syscall".into(), format!("\"goid\":{}", e.a)),
                    );
                }
                Kind::BlockingStart => {
                    let site = site::location(e.b as u16);
                    open.insert(
                        Kind::BlockingEnd as u8,
                        (
                            ts,
                            format!("blocking job {}", e.a),
                            format!("\"id\":{},\"created_at\":{}", e.a, json_str(&site.to_string())),
                        ),
                    );
                }
                Kind::Unpark | Kind::SpinStop | Kind::SyscallExit | Kind::BlockingEnd => {
                    let (start, name, mut args) =
                        open.remove(&(e.kind as u8))
                            .unwrap_or((0, String::new(), String::new()));
                    if name.is_empty() {
                        continue;
                    }
                    if e.kind == Kind::SyscallExit {
                        let _ = write!(args, ",\"exit\":{}", json_str(SyscallExit::as_str(e.a)));
                    }
                    slices.push(Slice {
                        track: m,
                        start,
                        end: ts,
                        name,
                        cat: "m",
                        args,
                        goid: None,
                    });
                }
                Kind::RegionBegin | Kind::TaskBegin => {
                    let cat = if e.kind == Kind::TaskBegin { "task" } else { "region" };
                    let goid = polls.last().map_or(0, |(s, _)| s.a);
                    if !ended.contains(&(cat, e.a)) {
                        // Still open at stop: it ends there.
                        lines.push(async_end(cat, e.a, name_of(&e), end_rel));
                    }
                    lines.push(Line {
                        track: (PS, 0),
                        ts,
                        neg_dur: 0,
                        json: format!(
                            "{{\"name\":{},\"cat\":\"{cat}\",\"ph\":\"b\",\"id\":{},\"ts\":{},\"pid\":{PS},\"tid\":0,\"args\":{{\"goid\":{goid}}}}}",
                            json_str(name_of(&e)),
                            e.a,
                            micros(ts)
                        ),
                    });
                }
                Kind::RegionEnd | Kind::TaskEnd => {
                    let cat = if e.kind == Kind::TaskEnd { "task" } else { "region" };
                    // Begun before the trace started: left out.
                    if let Some(name) = begun.get(&(cat, e.a)) {
                        lines.push(async_end(cat, e.a, name, ts));
                    }
                }
            }
        }
        // Still open when the trace stopped.
        for (start, track) in polls {
            slices.push(g_slice(
                &mut sites,
                &start,
                track,
                rel(start.ts),
                end_rel,
                "\"end\":\"running at stop\"".into(),
            ));
        }
        for (_, (start, name, args)) in open {
            slices.push(Slice {
                track: m,
                start,
                end: end_rel,
                name,
                cat: "m",
                args,
                goid: None,
            });
        }
    }
    // Flows: each wake to the next poll of the G it woke.
    let mut starts: Vec<(u64, u64, Track)> = slices
        .iter()
        .filter_map(|s| s.goid.map(|g| (s.start, g, s.track)))
        .collect();
    starts.sort_unstable_by_key(|s| s.0);
    wakes.sort_by_key(|w| w.ts);
    let mut pending: HashMap<u64, usize> = HashMap::new();
    let mut next_wake = 0;
    let mut flow_id = 0u64;
    for (start, goid, track) in starts {
        while next_wake < wakes.len() && wakes[next_wake].ts <= start {
            pending.insert(wakes[next_wake].goid, next_wake);
            next_wake += 1;
        }
        let Some(w) = pending.remove(&goid) else {
            continue;
        };
        let w = &wakes[w];
        flow_id += 1;
        let source = Source::as_str(w.source);
        if w.needs_slice {
            slices.push(Slice {
                track: w.track,
                start: w.ts,
                end: w.ts,
                name: format!("ready g{goid}"),
                cat: "wake",
                args: format!("\"source\":{}", json_str(source)),
                goid: None,
            });
        }
        let waker = format!(",\"args\":{{\"goid\":{goid},\"waker_goid\":{}}}", w.waker);
        for (ph, ts, track, extra) in [
            ("s", w.ts, w.track, waker.as_str()),
            ("f", start, track, ",\"bp\":\"e\""),
        ] {
            lines.push(Line {
                track,
                ts,
                neg_dur: i64::MAX,
                json: format!(
                    "{{\"name\":\"wake ({source})\",\"cat\":\"wake\",\"ph\":\"{ph}\",\"id\":{flow_id},\"ts\":{},\"pid\":{},\"tid\":{}{extra}}}",
                    micros(ts),
                    track.0,
                    track.1
                ),
            });
        }
    }
    nest(&mut slices);
    for s in &slices {
        let args = if s.args.is_empty() {
            String::new()
        } else {
            format!(",\"args\":{{{}}}", s.args)
        };
        lines.push(Line {
            track: s.track,
            ts: s.start,
            neg_dur: -((s.end - s.start) as i64),
            json: format!(
                "{{\"name\":{},\"cat\":\"{}\",\"ph\":\"X\",\"ts\":{},\"dur\":{},\"pid\":{},\"tid\":{}{args}}}",
                json_str(&s.name),
                s.cat,
                micros(s.start),
                micros(s.end - s.start),
                s.track.0,
                s.track.1
            ),
        });
    }
    lines.sort_by_key(|l| (l.track, l.ts, l.neg_dur));
    // The names of the tracks.
    let mut meta = vec![
        process_name(PS, "Ps (processors)", 0),
        process_name(MS, "Ms (threads)", 1),
    ];
    for p in 0..procs {
        let (pid, tid) = p_track(p);
        meta.push(thread_name(pid, tid, &format!("P{p}"), p as u32));
    }
    let mut threads = collected.threads.clone();
    threads.sort();
    threads.dedup_by_key(|t| t.0);
    // Only the threads that recorded something in this trace.
    threads.retain(|(tid, _)| tids.binary_search(tid).is_ok());
    for (tid, name) in &threads {
        meta.push(thread_name(MS, *tid, &format!("M{tid} {name}"), *tid));
    }
    out.write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")?;
    let mut first = true;
    for json in meta.iter().chain(lines.iter().map(|l| &l.json)) {
        if !first {
            out.write_all(b",\n")?;
        }
        first = false;
        out.write_all(json.as_bytes())?;
    }
    out.write_all(b"\n]}\n")
}

/// Spawn sites by id, as text and as a JSON string (formatted once each).
#[derive(Default)]
struct Sites(HashMap<u16, (String, String)>);

impl Sites {
    fn get(&mut self, id: u16) -> &(String, String) {
        self.0.entry(id).or_insert_with(|| {
            let text = site::location(id).to_string();
            let json = json_str(&text);
            (text, json)
        })
    }
}

/// The slice of one poll of a G.
fn g_slice(sites: &mut Sites, start: &Event, track: Track, from: u64, to: u64, end: String) -> Slice {
    let (text, json) = sites.get(start.b as u16);
    Slice {
        track,
        start: from,
        end: to.max(from),
        name: format!("g{} {}", start.a, text),
        cat: "goroutine",
        args: format!("\"goid\":{},\"created_at\":{},{end}", start.a, json),
        goid: Some(start.a),
    }
}

/// Makes the slices of each track nest: on a P track, a slice ends where
/// the next begins; elsewhere a slice that outlasts its parent ends with it.
fn nest(slices: &mut [Slice]) {
    slices.sort_by_key(|s| (s.track, s.start, std::cmp::Reverse(s.end)));
    let mut i = 0;
    while i < slices.len() {
        let track = slices[i].track;
        let mut j = i;
        while j < slices.len() && slices[j].track == track {
            j += 1;
        }
        let group = &mut slices[i..j];
        if track.0 == PS {
            for k in 1..group.len() {
                let next = group[k].start;
                if group[k - 1].end > next && group[k - 1].goid.is_some() {
                    group[k - 1].end = next;
                }
            }
        } else {
            let mut stack: Vec<u64> = Vec::new();
            for s in group.iter_mut() {
                while stack.last().is_some_and(|&end| end <= s.start) {
                    stack.pop();
                }
                if let Some(&end) = stack.last() {
                    s.end = s.end.min(end);
                }
                stack.push(s.end);
            }
        }
        i = j;
    }
}

/// The name of a region or task: the `&'static str` whose pointer and
/// length `b` and `c` hold.
fn name_of(e: &Event) -> &'static str {
    // SAFETY: `RegionBegin` and `TaskBegin` events are recorded only by
    // `control::begin_cold`, with `b` and `c` the pointer and length of a
    // `&'static str`: valid UTF-8 that lives for ever.
    unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(e.b as *const u8, e.c as usize)) }
}

/// The end of an async slice (a region or a task).
fn async_end(cat: &str, id: u64, name: &str, ts: u64) -> Line {
    Line {
        track: (PS, 0),
        ts,
        neg_dur: 0,
        json: format!(
            "{{\"name\":{},\"cat\":\"{cat}\",\"ph\":\"e\",\"id\":{id},\"ts\":{},\"pid\":{PS},\"tid\":0}}",
            json_str(name),
            micros(ts)
        ),
    }
}

/// An instant event, thread-scoped.
fn instant(track: Track, ts: u64, name: &str, args: String) -> Line {
    Line {
        track,
        ts,
        neg_dur: 0,
        json: format!(
            "{{\"name\":{},\"cat\":\"sched\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{},\"pid\":{},\"tid\":{},\"args\":{{{args}}}}}",
            json_str(name),
            micros(ts),
            track.0,
            track.1
        ),
    }
}

fn process_name(pid: u32, name: &str, order: u32) -> String {
    format!(
        "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":{}}}}},\n\
         {{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":{pid},\"tid\":0,\"args\":{{\"sort_index\":{order}}}}}",
        json_str(name)
    )
}

fn thread_name(pid: u32, tid: u32, name: &str, order: u32) -> String {
    format!(
        "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":{}}}}},\n\
         {{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"sort_index\":{order}}}}}",
        json_str(name)
    )
}

/// Nanoseconds as the format's microseconds, with three decimals.
fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// `s` as a JSON string literal.
pub(super) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::json_str;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
