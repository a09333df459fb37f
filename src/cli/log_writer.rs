//! The server log's writer: request threads append lines to a shared buffer; one background
//! thread writes what has gathered with one system call.
//!
//! Why not `tracing_appender::non_blocking`: its thread takes lines off a channel one at a time,
//! spinning and yielding while it waits, and writes each line with its own `write`. At 30,000
//! lookups a second that thread alone took a sixth of the server's CPU on a 2-core machine
//! (BENCHMARKS.md, issue 19). Here the thread sleeps on a condition variable until a line
//! arrives, lets lines gather for [`LINGER`], then writes them all at once: a line reaches stderr
//! within a few milliseconds, and under load a request costs a copy into the buffer, with no
//! system call (only the first line after an idle spell wakes the thread).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Bytes held at most while the output is slow (a stuck terminal or disk); lines beyond are
/// dropped and counted rather than let memory grow or requests wait.
const MAX_PENDING: usize = 16 * 1024 * 1024;

/// How long the thread lets lines gather after the first one arrives: short enough that a line
/// is on stderr before anyone reading the log looks, long enough to make batches under load.
const LINGER: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    closed: bool,
    /// The thread found nothing and sleeps until notified.
    idle: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    arrived: Condvar,
}

/// The handle the subscriber writes through (cheap to clone; see [`spawn`]).
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Stops the writer thread when dropped, after it has written everything pending.
pub struct FlushOnDrop {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the thread that writes to `output`.
pub fn spawn(output: impl Write + Send + 'static) -> std::io::Result<(LogWriter, FlushOnDrop)> {
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_batches(&shared, output))?
    };
    Ok((
        LogWriter(shared.clone()),
        FlushOnDrop {
            shared,
            thread: Some(thread),
        },
    ))
}

/// The thread's loop: wait for lines, let more gather, take them all, write them, until closed
/// and drained.
fn write_batches(shared: &Shared, mut output: impl Write) {
    let lock = || {
        shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    };
    let mut batch = Vec::new();
    loop {
        {
            let mut pending = lock();
            while pending.bytes.is_empty() && pending.dropped == 0 && !pending.closed {
                pending.idle = true;
                pending = shared
                    .arrived
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.idle = false;
            // When shutting down, what is there is written at once.
            if !pending.closed {
                drop(pending);
                std::thread::sleep(LINGER);
            }
        }
        let (dropped, closed) = {
            let mut pending = lock();
            std::mem::swap(&mut batch, &mut pending.bytes);
            (std::mem::take(&mut pending.dropped), pending.closed)
        };
        if dropped > 0 {
            batch.extend_from_slice(
                format!("log: {dropped} lines dropped, the output was too slow\n").as_bytes(),
            );
        }
        // Nowhere to report a failing stderr; the lines are lost either way.
        let _ = output.write_all(&batch).and_then(|()| output.flush());
        batch.clear();
        if closed && lock().bytes.is_empty() {
            return;
        }
    }
}

impl LogWriter {
    /// Appends one line (or several) for the thread to write; never blocks on the output.
    pub fn append(&self, line: &[u8]) {
        let mut pending = self
            .0
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pending.bytes.len() + line.len() > MAX_PENDING {
            pending.dropped += 1;
        } else {
            pending.bytes.extend_from_slice(line);
            // Only an idle thread needs waking; a busy one takes this line with its next batch.
            if pending.idle {
                pending.idle = false;
                self.0.arrived.notify_one();
            }
        }
    }
}

impl Write for LogWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        self.clone()
    }
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read after the writer has finished.
    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl Write for Collected {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_whole_and_in_order_per_thread_before_the_guard_returns() {
        let output = Collected::default();
        let (writer, guard) = spawn(output.clone()).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let mut writer = writer.clone();
                s.spawn(move || {
                    for i in 0..2_000 {
                        writer
                            .write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                });
            }
        });
        drop(guard);
        let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 8_000);
        for t in 0..4 {
            let mine: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> =
                (0..2_000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(mine, expected);
        }
    }

    #[test]
    fn a_line_written_while_idle_is_written_without_waiting_for_more() {
        let output = Collected::default();
        let (mut writer, _guard) = spawn(output.clone()).unwrap();
        writer.write_all(b"one line\n").unwrap();
        // The writer thread wakes for it; wait for it to land (bounded), no sleeping guess.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while output.0.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line never arrived"
            );
            std::thread::yield_now();
        }
        assert_eq!(output.0.lock().unwrap().as_slice(), b"one line\n");
    }

    #[test]
    fn lines_beyond_the_cap_are_counted_and_reported_not_kept() {
        // An output that blocks until released, so lines pile up.
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        struct Blocked(Arc<(Mutex<bool>, Condvar)>, Collected);
        impl Write for Blocked {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                let (open, cv) = &*self.0;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
                self.1.write(bytes)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let output = Collected::default();
        let (mut writer, guard) = spawn(Blocked(gate.clone(), output.clone())).unwrap();
        let line = vec![b'x'; 1024 * 1024 - 1]
            .into_iter()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        for _ in 0..40 {
            writer.write_all(&line).unwrap();
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        drop(guard);
        let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        let kept = text.lines().filter(|l| l.starts_with('x')).count();
        let dropped: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("log: ")?.split(' ').next()?.parse().ok())
            .unwrap();
        // At most one batch in the blocked write and one full buffer behind it.
        assert!(kept <= 2 * (MAX_PENDING / line.len()), "{kept} lines kept");
        assert!(dropped > 0);
        assert_eq!(kept as u64 + dropped, 40);
    }
}
