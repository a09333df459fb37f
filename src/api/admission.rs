//! Admission control for CPU-heavy requests.
//!
//! The async workers (one per core) must stay free for cheap requests — `/health`, single
//! lookups, tiles from the cache — or one client sending a few heavy requests freezes the server
//! for everyone. So heavy work (proposal validation, splits, batch lookups and address searches,
//! building an older snapshot, password hashing) runs on blocking threads, and only as many jobs
//! at once as a [`Pool`] has permits. A few more may wait, for at most the pool's deadline; any
//! request beyond that is refused at once (503 with `Retry-After`, or 429 for logins) instead of
//! piling up threads, memory and latency.
//!
//! Each pool runs its jobs on threads of its own, as many as it has permits: a fixed number of
//! threads bounds the memory their allocator arenas keep (a password hash takes 19 MiB), and the
//! CPU pool's threads run at a lower scheduling priority (nice 10), so that while heavy jobs
//! keep every core busy, the cheap requests still get the CPU the moment they need it.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::error::ApiError;
use super::extract::JsonBytes;

/// How many heavy jobs may run and wait, and for how long a job may wait for a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Jobs running at once (≈ cores for CPU work; fewer for memory-hungry password hashing).
    pub permits: usize,
    /// Jobs that may wait for a permit; beyond that, requests are refused at once.
    pub queue: usize,
    /// Longest wait for a permit before the request is refused.
    pub deadline: Duration,
}

impl PoolConfig {
    /// CPU-heavy requests: one job per core, as many waiting, two seconds' wait at most.
    pub fn cpu_default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PoolConfig {
            permits: cores,
            queue: cores,
            deadline: Duration::from_secs(2),
        }
    }

    /// Password hashing: argon2id takes 19 MiB and tens of milliseconds per hash, so two at a
    /// time bound both memory (≈ 40 MiB) and the CPU taken from other requests; a login waits
    /// at most one second.
    pub fn hash_default() -> Self {
        PoolConfig {
            permits: 2,
            queue: 8,
            deadline: Duration::from_secs(1),
        }
    }
}

/// What a refused request is answered with.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// 503 `overloaded`: the server is busy with heavy requests.
    Overloaded,
    /// 429 `too-many-logins`: too many password checks at once.
    TooManyLogins,
}

/// Nice value of the CPU pool's threads (0 is normal; 19 the lowest priority). At 10 the
/// kernel gives a normal thread about nine times the CPU of a pool thread when both want it.
const CPU_POOL_NICE: i32 = 10;

/// A job for a pool's threads.
type Job = Box<dyn FnOnce() + Send>;

/// A pool's own threads: they take jobs from one channel and end when the pool is dropped.
struct Workers {
    jobs: mpsc::Sender<Job>,
}

impl Workers {
    fn start(name: &'static str, threads: usize, nice: i32) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("shequ-{}-{i}", name.replace(' ', "-")))
                .spawn(move || {
                    set_nice(nice);
                    loop {
                        // The lock is held only while taking the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the pool was dropped
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a thread for {name}: {e}");
            }
        }
        Workers { jobs }
    }
}

/// Sets the calling thread's nice value (Linux: nice is per thread). Failure only means jobs
/// run at normal priority, so it is logged, not fatal.
#[cfg(target_os = "linux")]
fn set_nice(nice: i32) {
    if nice == 0 {
        return;
    }
    // SAFETY: setpriority reads three integers and touches no memory of ours; with
    // PRIO_PROCESS and who = 0 it changes the calling thread only (setpriority(2), NOTES).
    let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if done != 0 {
        tracing::warn!(
            "cannot lower the priority of a worker thread: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn set_nice(_nice: i32) {}

/// Lowers the priority of rayon's global threads like the CPU pool's: geo's overlay sorts in
/// parallel there on behalf of pool jobs. Called by the server at start (only the first call
/// does anything); if rayon's pool was already built, it keeps its priority and that is logged.
pub fn lower_rayon_priority() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let built = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("shequ-rayon-{i}"))
            .start_handler(|_| set_nice(CPU_POOL_NICE))
            .build_global();
        if let Err(e) = built {
            tracing::warn!("rayon's thread pool keeps its priority: {e}");
        }
    });
}

/// Blocks at least this large are mapped for themselves and unmapped when freed.
const OWN_MAPPING_BYTES: i32 = 4 << 20;

/// Makes the allocator give large blocks back to the system when they are freed.
///
/// glibc raises its mmap threshold to the size of the largest block freed so far, so after
/// the first password check every 19 MiB argon2 block came from a thread's heap and stayed
/// there: 256 concurrent logins left the server 115–134 MiB larger although only two hashes
/// ever ran at once. Setting the threshold fixes it at 4 MiB (and turns off the raising): a
/// block that large is an mmap of its own, returned at once. The cost is a page fault per page
/// of such blocks, small beside what fills them. Called by the server at start; only the first
/// call does anything; a no-op where the C library is not glibc.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt sets an allocator parameter from two integers; M_MMAP_THRESHOLD
            // may be changed at any time (mallopt(3)).
            if unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING_BYTES) } != 1 {
                tracing::warn!("cannot set the allocator's mmap threshold");
            }
        });
    }
}

/// A bounded pool for heavy jobs (see the module documentation).
pub struct Pool {
    name: &'static str,
    config: PoolConfig,
    refusal: Refusal,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Requests refused so far (`/metrics`).
    refused: std::sync::atomic::AtomicU64,
    workers: Workers,
}

/// Seconds a refused client is told to wait before retrying (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 1;

/// Counts a request waiting for a permit while it lives (so a dropped request stops counting).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    fn new(name: &'static str, config: PoolConfig, refusal: Refusal, nice: i32) -> Self {
        Pool {
            name,
            config,
            refusal,
            permits: Arc::new(Semaphore::new(config.permits)),
            waiting: AtomicUsize::new(0),
            refused: Default::default(),
            workers: Workers::start(name, config.permits, nice),
        }
    }

    /// The pool for CPU-heavy requests (refusals are 503; its threads run at nice 10).
    pub fn cpu(config: PoolConfig) -> Self {
        Self::new("heavy requests", config, Refusal::Overloaded, CPU_POOL_NICE)
    }

    /// The pool for password hashing (refusals are 429: they come from logins and user admin).
    /// Normal priority: a login should not wait behind heavy jobs.
    pub fn hashing(config: PoolConfig) -> Self {
        Self::new("password checks", config, Refusal::TooManyLogins, 0)
    }

    /// Requests this pool has refused.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn refuse(&self, why: &str) -> ApiError {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let detail = format!(
            "the server is busy: {why} ({} {} at once, {} waiting at most, {} ms wait at most); \
             retry in {RETRY_AFTER_SECS} s",
            self.config.permits,
            self.name,
            self.config.queue,
            self.config.deadline.as_millis()
        );
        match self.refusal {
            Refusal::Overloaded => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", detail)
            }
            Refusal::TooManyLogins => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too-many-logins", detail)
            }
        }
        .retry_after(RETRY_AFTER_SECS)
    }

    /// A permit: at once if one is free, else after waiting in the queue (if it has room) for at
    /// most the deadline.
    async fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if queued >= self.config.queue {
            return Err(self.refuse(&format!("{} already running and waiting", self.name)));
        }
        match tokio::time::timeout(self.config.deadline, self.permits.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it like a timeout all the same.
            Ok(Err(_)) | Err(_) => {
                Err(self.refuse(&format!("no permit for {} within the deadline", self.name)))
            }
        }
    }

    /// Runs `job` on one of the pool's threads under a permit, or refuses (503/429) when the
    /// pool is full. The permit is held by the job itself, so a job whose client went away still
    /// counts until it ends: the bound is on work actually running. A job that panics is a 500
    /// (the thread lives on).
    pub async fn run<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.admit().await?;
        let (answer, outcome) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(job));
            drop(permit);
            // The request may have gone away meanwhile; then nobody wants the result.
            let _ = answer.send(result);
        });
        if self.workers.jobs.send(job).is_err() {
            return Err(ApiError::internal(format!(
                "{}: no worker thread",
                self.name
            )));
        }
        match outcome.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(ApiError::internal(format!("{}: a job panicked", self.name))),
            Err(_) => Err(ApiError::internal(format!(
                "{}: the job was lost",
                self.name
            ))),
        }
    }

    /// Like [`Pool::run`] for a request whose JSON body is parsed inside the job: admission
    /// comes first, so a refused request costs reading its bytes and nothing more.
    pub async fn run_json<B, T, F>(&self, body: JsonBytes<B>, job: F) -> Result<T, ApiError>
    where
        B: DeserializeOwned + 'static,
        F: FnOnce(B) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move || job(body.parse()?)).await?
    }

    /// Takes a permit without running anything, if one is free: lets tests (and operators'
    /// drills) fill the pool deterministically. The permit is returned when the value drops.
    pub fn occupy(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

/// The pools of one server.
pub struct Admission {
    pub cpu: Pool,
    pub hashing: Pool,
}

impl Admission {
    pub fn new(cpu: PoolConfig, hashing: PoolConfig) -> Self {
        Admission {
            cpu: Pool::cpu(cpu),
            hashing: Pool::hashing(hashing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tight(queue: usize, deadline_ms: u64) -> Pool {
        Pool::cpu(PoolConfig {
            permits: 1,
            queue,
            deadline: Duration::from_millis(deadline_ms),
        })
    }

    #[tokio::test]
    async fn runs_jobs_when_free() {
        let pool = tight(0, 10);
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
        // The permit came back.
        assert!(pool.occupy().is_some());
    }

    #[tokio::test]
    async fn a_full_pool_without_queue_refuses_at_once() {
        let pool = tight(0, 60_000);
        let _held = pool.occupy();
        let e = pool.run(|| ()).await.unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.slug, "overloaded");
        assert_eq!(pool.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_waiting_job_is_refused_after_the_deadline() {
        let pool = tight(1, 5);
        let _held = pool.occupy();
        let e = pool.run(|| ()).await.unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(e.detail.contains("within the deadline"), "{}", e.detail);
    }

    #[tokio::test]
    async fn a_waiting_job_runs_when_a_permit_frees() {
        let pool = Arc::new(tight(1, 60_000));
        let held = pool.occupy();
        let waiter = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| 1).await }
        });
        // Once the waiter is queued, the queue (of 1) is full: a third job is refused.
        while pool.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(pool.run(|| 2).await.is_err());
        drop(held);
        assert_eq!(waiter.await.ok(), Some(Ok(1)));
    }

    #[tokio::test]
    async fn a_panicking_job_is_a_500_and_the_pool_lives_on() {
        let pool = tight(0, 10);
        let e = pool.run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn cpu_jobs_run_at_lower_priority() {
        let pool = tight(0, 10);
        // SAFETY: getpriority reads integers only; who = 0 is the calling thread.
        let nice = pool.run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) });
        assert_eq!(nice.await, Ok(CPU_POOL_NICE));
    }

    #[tokio::test]
    async fn hashing_refusals_are_429() {
        let pool = Pool::hashing(PoolConfig {
            permits: 1,
            queue: 0,
            deadline: Duration::from_secs(1),
        });
        let _held = pool.occupy();
        let e = pool.run(|| ()).await.unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
    }
}
