//! bcrypt's own threads. A login storm must use every idle cycle for bcrypt, yet never delay
//! the event loop: on Tokio's blocking pool, sixteen logins in flight are sixteen threads
//! sharing the cores equally with the runtime's workers, and every other request waits its
//! turn behind them (GET /health p99 went from 10 ms to 73 ms on two cores). Here bcrypt runs on
//! one thread per core, at the lowest CPU priority (nice 19, on Linux), so the kernel runs a
//! worker the moment it has work and gives bcrypt the rest; extra logins queue for a thread.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context as _;

type Job = Box<dyn FnOnce() + Send>;

/// The process's pool, started on first use. `None` if no thread could be started: callers then
/// fall back to Tokio's blocking pool.
fn pool() -> Option<&'static Sender<Job>> {
    static POOL: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    POOL.get_or_init(start).as_ref()
}

fn start() -> Option<Sender<Job>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    let mut started = 0;
    for n in 0..threads {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("bcrypt-{n}"))
            .spawn(move || work(&queue));
        match spawned {
            Ok(_) => started += 1,
            Err(err) => tracing::warn!(error = %err, "could not start a bcrypt thread"),
        }
    }
    (started > 0).then_some(jobs)
}

fn work(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux the nice value belongs to the thread, and `who = 0` names the calling one.
    // SAFETY: setpriority takes no pointers; it only changes this thread's scheduling weight.
    let status = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    if status != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "bcrypt thread keeps its priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Runs `work` on a bcrypt thread and waits for its result without blocking the runtime.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let Some(jobs) = pool() else {
        return tokio::task::spawn_blocking(work)
            .await
            .context("bcrypt task");
    };
    let (done, result) = tokio::sync::oneshot::channel();
    jobs.send(Box::new(move || {
        // The caller may have gone (a client that hung up): nobody wants the result then.
        let _ = done.send(work());
    }))
    .ok()
    .context("bcrypt threads stopped")?;
    result.await.context("bcrypt thread dropped the job")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_and_return_their_result() -> anyhow::Result<()> {
        let results = futures::future::try_join_all((0..8).map(|n| run(move || n * 2))).await?;
        assert_eq!(results, (0..8).map(|n| n * 2).collect::<Vec<_>>());
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn bcrypt_threads_run_at_the_lowest_priority() -> anyhow::Result<()> {
        // SAFETY: getpriority takes no pointers; it reads the calling thread's nice value.
        let nice = run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }).await?;
        assert_eq!(nice, 19);
        Ok(())
    }
}
