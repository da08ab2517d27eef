//! `rookery-bench`: the programs `scripts/bench` needs beside Rookery itself.
//!
//! - `hello ADDR`: a bare hyper hello-world server, the ceiling the HTTP figures are set beside;
//! - `bcrypt COST SECONDS`: raw bcrypt verifications per second on every core, the ceiling of
//!   logins per second;
//! - `seed-followees OUT COUNTS...`: one reader per count, following that many authors;
//! - `seed-mixed OUT USERS`: users with a power-law follower count, for the mixed workload.
//!
//! The seeders write through Rookery's own use cases, on the stores the environment configures
//! (`ROOKERY_DATA_DIR`, `REDIS_URL`, ... as for the server), then relay every event, so that
//! feeds are fanned out exactly as in production. OUT receives one line per token.

mod bcrypt_rate;
mod hello;
mod seed;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new().context("start the Tokio runtime")?;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["hello", addr] => runtime.block_on(hello::serve(addr.parse().context("ADDR")?)),
        ["bcrypt", cost, secs] => {
            let report = bcrypt_rate::measure(
                cost.parse().context("COST")?,
                std::time::Duration::from_secs_f64(secs.parse().context("SECONDS")?),
            )?;
            emit(&report)
        }
        ["seed-followees", out, counts @ ..] if !counts.is_empty() => {
            let counts = counts
                .iter()
                .map(|count| count.parse::<usize>().context("COUNTS"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let report = runtime.block_on(seed::followees(out.as_ref(), &counts))?;
            emit(&report)
        }
        ["seed-mixed", out, users] => {
            let report =
                runtime.block_on(seed::mixed(out.as_ref(), users.parse().context("USERS")?))?;
            emit(&report)
        }
        _ => bail!(
            "usage: rookery-bench hello ADDR | bcrypt COST SECONDS | \
             seed-followees OUT COUNT... | seed-mixed OUT USERS"
        ),
    }
}

/// Reports go to stdout as one JSON object, for `scripts/bench` to keep.
fn emit(report: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, report)?;
    writeln!(out)?;
    Ok(())
}
