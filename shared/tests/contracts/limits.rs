//! The `RateLimiter` contract: GCRA counters (`rookery::domain::limits`) that let a burst of
//! `max` through, refuse past it with the exact wait, count nothing when they refuse or only
//! look, keep keys and classes apart, free up with time, and stay exact under concurrency.
//!
//! Rules of a second or two keep the suite short; the waits it checks allow the
//! scheduling slack of a loaded machine (a Redis round trip, a busy core).

use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use futures::FutureExt as _;
use rookery::domain::limits::{Decision, Rule};
use rookery::ports::{RateClass, RateKey, RateLimiter};

use super::{check_eq, unique_suffix};

fn rule(raw: &str) -> anyhow::Result<Rule> {
    raw.parse().map_err(anyhow::Error::msg)
}

/// A key no earlier run used.
fn fresh(class: RateClass) -> RateKey {
    RateKey::new(class, format!("contract-{}", unique_suffix()))
}

fn wait_of(decision: Decision) -> anyhow::Result<Duration> {
    match decision {
        Decision::Limited { retry_after } => Ok(retry_after),
        Decision::Allowed => anyhow::bail!("allowed, expected a refusal"),
    }
}

async fn allowed(
    limiter: &dyn RateLimiter,
    key: &RateKey,
    rule: Rule,
    n: u32,
) -> anyhow::Result<u32> {
    let mut count = 0;
    for _ in 0..n {
        if limiter.acquire(key, rule).await?.is_allowed() {
            count += 1;
        }
    }
    Ok(count)
}

pub async fn rate_limiter(limiter: Arc<dyn RateLimiter>) -> anyhow::Result<()> {
    ensure!(
        !limiter.name().is_empty(),
        "name() must be a non-empty label"
    );
    let limiter = &*limiter;
    super::every_check(
        "rate limiter",
        vec![
            (
                "a_burst_of_max_then_a_refusal_with_the_wait",
                a_burst_of_max_then_a_refusal_with_the_wait(limiter).boxed_local(),
            ),
            (
                "the_wait_frees_one_request",
                the_wait_frees_one_request(limiter).boxed_local(),
            ),
            (
                "check_counts_nothing_and_agrees_with_acquire",
                check_counts_nothing_and_agrees_with_acquire(limiter).boxed_local(),
            ),
            (
                "refusals_count_nothing",
                refusals_count_nothing(limiter).boxed_local(),
            ),
            (
                "keys_and_classes_are_apart",
                keys_and_classes_are_apart(limiter).boxed_local(),
            ),
            (
                "after_a_window_the_whole_burst_is_back",
                after_a_window_the_whole_burst_is_back(limiter).boxed_local(),
            ),
            (
                "concurrent_requests_get_exactly_max",
                concurrent_requests_get_exactly_max(limiter).boxed_local(),
            ),
        ],
    )
    .await
}

async fn a_burst_of_max_then_a_refusal_with_the_wait(
    limiter: &dyn RateLimiter,
) -> anyhow::Result<()> {
    // 5 per 10 s: one every 2 s once the burst is spent.
    let rule = rule("5/10s")?;
    let key = fresh(RateClass::Posts);
    check_eq(
        allowed(limiter, &key, rule, 5).await?,
        5,
        "allowed of the burst",
    )?;
    let wait = wait_of(limiter.acquire(&key, rule).await?)?;
    ensure!(
        wait > Duration::from_millis(1_500) && wait <= Duration::from_secs(2),
        "retry_after {wait:?}, want just under the 2 s interval"
    );
    Ok(())
}

async fn the_wait_frees_one_request(limiter: &dyn RateLimiter) -> anyhow::Result<()> {
    let rule = rule("2/2s")?;
    let key = fresh(RateClass::Writes);
    check_eq(allowed(limiter, &key, rule, 2).await?, 2, "allowed")?;
    let wait = wait_of(limiter.acquire(&key, rule).await?)?;
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    ensure!(
        limiter.acquire(&key, rule).await?.is_allowed(),
        "not allowed after the {wait:?} it said"
    );
    ensure!(
        !limiter.acquire(&key, rule).await?.is_allowed(),
        "the wait freed more than one request"
    );
    Ok(())
}

async fn check_counts_nothing_and_agrees_with_acquire(
    limiter: &dyn RateLimiter,
) -> anyhow::Result<()> {
    let rule = rule("3/10s")?;
    let key = fresh(RateClass::LoginFailures);
    for _ in 0..10 {
        check_eq(limiter.check(&key, rule).await?, Decision::Allowed, "check")?;
    }
    check_eq(
        allowed(limiter, &key, rule, 3).await?,
        3,
        "allowed after checks",
    )?;
    let looked = wait_of(limiter.check(&key, rule).await?)?;
    let refused = wait_of(limiter.acquire(&key, rule).await?)?;
    ensure!(
        refused <= looked && looked - refused < Duration::from_millis(500),
        "check said {looked:?}, acquire {refused:?}"
    );
    Ok(())
}

async fn refusals_count_nothing(limiter: &dyn RateLimiter) -> anyhow::Result<()> {
    let rule = rule("1/2s")?;
    let key = fresh(RateClass::Register);
    check_eq(allowed(limiter, &key, rule, 1).await?, 1, "allowed")?;
    let first = wait_of(limiter.acquire(&key, rule).await?)?;
    // Refused again and again: had they counted, the wait would grow.
    check_eq(
        allowed(limiter, &key, rule, 20).await?,
        0,
        "allowed while limited",
    )?;
    let later = wait_of(limiter.acquire(&key, rule).await?)?;
    ensure!(later <= first, "the wait grew from {first:?} to {later:?}");
    Ok(())
}

async fn keys_and_classes_are_apart(limiter: &dyn RateLimiter) -> anyhow::Result<()> {
    let rule = rule("1/10s")?;
    let key = fresh(RateClass::Posts);
    check_eq(allowed(limiter, &key, rule, 2).await?, 1, "allowed")?;
    let other_class = RateKey::new(RateClass::Writes, key.subject.clone());
    check_eq(
        allowed(limiter, &other_class, rule, 1).await?,
        1,
        "other class",
    )?;
    let other_subject = fresh(RateClass::Posts);
    check_eq(
        allowed(limiter, &other_subject, rule, 1).await?,
        1,
        "other key",
    )?;
    Ok(())
}

async fn after_a_window_the_whole_burst_is_back(limiter: &dyn RateLimiter) -> anyhow::Result<()> {
    let rule = rule("3/1s")?;
    let key = fresh(RateClass::LoginAttempts);
    check_eq(allowed(limiter, &key, rule, 4).await?, 3, "first burst")?;
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    check_eq(
        allowed(limiter, &key, rule, 4).await?,
        3,
        "burst after a window",
    )?;
    Ok(())
}

async fn concurrent_requests_get_exactly_max(limiter: &dyn RateLimiter) -> anyhow::Result<()> {
    let rule = rule("10/60s")?;
    let key = fresh(RateClass::Writes);
    let attempts = (0..40).map(|_| limiter.acquire(&key, rule));
    let decisions = futures::future::try_join_all(attempts).await?;
    let granted = decisions.iter().filter(|d| d.is_allowed()).count();
    check_eq(granted, 10, "allowed of 40 concurrent requests")
}
