//! The order in which goroutines readied by the netpoller run.
//!
//! An M that polls the network while it holds its P (Go's `netpoll(0)` in
//! `findRunnable`) queues the goroutines it readies at the tail of its P's
//! queue in the order their events came, as Go's `injectglist` does. They
//! used to go through runnext one by one, each pushing the one before it
//! back: the socket that became ready last ran first, and under load the
//! first ones waited a whole queue longer (TCP echo's p99).
//!
//! Only one P gives a fixed order: with more, an idle M blocked in the
//! poller takes the first events as they come, and which M runs which
//! goroutine first is a race.

use crate::{in_io_wait, watchdog};
use futures::{AsyncReadExt, AsyncWriteExt};
use gpm::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const READERS: usize = 6;
/// Rounds whose order is checked.
const JUDGED: usize = 10;
/// A round this fast, after one as fast, leaves sysmon no room to poll the
/// network in the middle of it (it does only after 10 ms without a poll,
/// and the M polled at the end of the round before). Its poll would queue
/// the first sockets' goroutines on the global queue and the rest on the
/// P, which runs its own first: slower rounds are run again, not judged.
const QUICK: Duration = Duration::from_millis(4);

#[test]
fn readied_goroutines_run_in_the_order_their_sockets_became_ready() {
    watchdog(|| {
        let rt = gpm::runtime::Builder::new().procs(1).build().unwrap();
        rt.block_on_send(async {
            let mut judged = 0;
            let mut quick_before = false;
            for round in 0.. {
                assert!(
                    round < 1_000,
                    "only {judged} of 1 000 rounds were quick enough to judge"
                );
                let start = Instant::now();
                let ran = Arc::new(Mutex::new(Vec::new()));
                let done = gpm::chan::<()>(READERS);
                let mut writers = Vec::new();
                for i in 0..READERS {
                    let (w, mut r) = UnixStream::pair().unwrap();
                    writers.push(w);
                    let (ran, done) = (ran.clone(), done.clone());
                    gpm::go!(async move {
                        let mut byte = [0];
                        r.read_exact(&mut byte).await.unwrap();
                        ran.lock().unwrap().push(i);
                        done.send(()).await.unwrap();
                    });
                }
                in_io_wait(READERS).await;
                // Ready in this order, all before main blocks: the M then
                // finds nothing queued and polls the network once.
                for w in &mut writers {
                    w.write_all(b"x").await.unwrap();
                }
                for _ in 0..READERS {
                    done.recv().await.unwrap();
                }
                let quick = start.elapsed() < QUICK;
                if quick && quick_before {
                    let ran = ran.lock().unwrap().clone();
                    assert_eq!(
                        ran,
                        (0..READERS).collect::<Vec<_>>(),
                        "round {round}: readers ran out of the order their sockets became ready"
                    );
                    judged += 1;
                    if judged == JUDGED {
                        break;
                    }
                }
                quick_before = quick;
            }
        });
    });
}
