//! Raw bcrypt: verifications per second with one thread per core, nothing else running. A
//! login is one verification plus a little I/O, so this is the ceiling of logins per second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;

#[derive(Serialize)]
pub struct Report {
    cost: u32,
    threads: usize,
    seconds: f64,
    verifications: u64,
    per_sec: f64,
}

pub fn measure(cost: u32, length: Duration) -> anyhow::Result<Report> {
    let hash = bcrypt::hash("correct horse battery", cost).context("bcrypt hash")?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let done = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    // The outcome is known; only the work counts.
                    let _ = bcrypt::verify("correct horse battery", &hash);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(length);
        done.store(true, Ordering::Relaxed);
    });
    // Verifications still running at the deadline finish and count: divide by the full time.
    let seconds = started.elapsed().as_secs_f64();
    let verifications = count.load(Ordering::Relaxed);
    Ok(Report {
        cost,
        threads,
        seconds,
        verifications,
        per_sec: verifications as f64 / seconds,
    })
}
