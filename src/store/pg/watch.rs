//! How a server learns that another one committed a registry version: `LISTEN shequ_version`
//! on a connection of its own (the schema's trigger notifies at each commit), with a poll of
//! the newest version id as a fallback (a notification lost with a dropped connection is
//! caught by the next poll). When the database goes away the watcher reconnects, retrying
//! every poll interval, and its first check after reconnecting catches up with whatever was
//! committed meanwhile: a replica started late or cut off learns the newest version either way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

/// The channel the schema's trigger notifies on.
pub const CHANNEL: &str = "shequ_version";

/// What a watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The newest committed version is now this one (newer than any reported before).
    Newest(i64),
    /// The database cannot be reached (reported once per outage); the watcher keeps retrying.
    Lost(String),
    /// The database is reachable again (after [`Event::Lost`]).
    Back,
}

/// A running watcher; stops (within one poll interval) when dropped.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Watches the database at `url` on a thread of its own, calling `report` for each event.
    /// `known` is the newest version the caller already has; `poll` bounds how late a version
    /// is learnt when notifications fail, and how often a lost database is retried.
    pub fn start(
        url: String,
        known: i64,
        poll: Duration,
        report: impl FnMut(Event) + Send + 'static,
    ) -> std::io::Result<Watcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("pg-watch".into())
            .spawn(move || run(&url, known, poll, &flag, report))?;
        Ok(Watcher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    url: &str,
    mut known: i64,
    poll: Duration,
    stop: &AtomicBool,
    mut report: impl FnMut(Event),
) {
    let mut lost = false;
    while !stop.load(Ordering::Relaxed) {
        match watch(url, &mut known, poll, stop, &mut report, &mut lost) {
            Ok(()) => return,
            Err(e) => {
                if !lost {
                    lost = true;
                    report(Event::Lost(super::describe(&e)));
                }
                // Polling with a deadline: wait one interval before reconnecting, in short steps
                // so that a stop is seen quickly.
                let until = std::time::Instant::now() + poll;
                while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// One connection's life: listen, catch up, then check at each notification or poll. Returns
/// `Ok` when asked to stop, `Err` when the connection fails.
fn watch(
    url: &str,
    known: &mut i64,
    poll: Duration,
    stop: &AtomicBool,
    report: &mut impl FnMut(Event),
    lost: &mut bool,
) -> Result<(), postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    if std::mem::take(lost) {
        report(Event::Back);
    }
    // At most 200 ms per wait, so a stop is seen quickly even with a long poll interval.
    let step = poll.min(Duration::from_millis(200));
    let mut waited = Duration::ZERO;
    let mut check = true;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if check || waited >= poll {
            let newest: i64 = client
                .query_one("SELECT COALESCE(MAX(id), 0) FROM versions", &[])?
                .get(0);
            if newest > *known {
                *known = newest;
                report(Event::Newest(newest));
            }
            waited = Duration::ZERO;
        }
        let notified = client.notifications().timeout_iter(step).next()?;
        check = notified.is_some();
        // Drain what else arrived: one check covers them all.
        while client.notifications().iter().next()?.is_some() {}
        waited += step;
        if client.is_closed() {
            // Surface the failure through a query rather than spinning on a closed client.
            client.simple_query("SELECT 1")?;
        }
    }
}
