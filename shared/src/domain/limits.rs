//! Rate-limit rules and their arithmetic (DESIGN 4.4): the generic cell rate algorithm (GCRA).
//!
//! A rule of `max` per `window` lets a burst of `max` requests through at once, then one more
//! every `window / max` (the emission interval). Sustained, no client gets more than `max` per
//! `window`; one that waits gets its slots back one interval at a time instead of all at once
//! when a fixed window rolls over. (The price: right after a full burst, a client may add one
//! request per interval, so any one `window` can see up to `2 * max - 1`; the brute-force rate
//! stays `max` per `window`.)
//!
//! The whole state of a key is one number, its theoretical arrival time (TAT): when the key
//! would be back to a full burst. A key whose TAT has passed holds nothing and may be dropped,
//! which is how both adapters expire it. The Redis adapter runs the same arithmetic in Lua.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// `max` requests per `window`, e.g. `10/15m`. The emission interval (`window / max`) is at
/// least a millisecond, the adapters' unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    max: u32,
    window: Duration,
}

impl Rule {
    /// # Errors
    /// `max` is zero, or `window / max` is under a millisecond.
    pub fn new(max: u32, window: Duration) -> Result<Self, String> {
        if max == 0 {
            return Err("the count must be at least 1".into());
        }
        if window.as_millis() < u128::from(max) {
            return Err("the window must leave at least a millisecond per request".into());
        }
        Ok(Self { max, window })
    }

    pub fn max(self) -> u32 {
        self.max
    }

    pub fn window(self) -> Duration {
        self.window
    }

    /// The window in milliseconds.
    pub fn window_ms(self) -> u64 {
        u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX)
    }

    /// How far apart requests may come once the burst is spent, in milliseconds.
    pub fn interval_ms(self) -> u64 {
        self.window_ms() / u64::from(self.max)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.window.as_secs();
        if self.window.subsec_nanos() != 0 {
            write!(f, "{}/{}ms", self.max, self.window.as_millis())
        } else if secs.is_multiple_of(3_600) {
            write!(f, "{}/{}h", self.max, secs / 3_600)
        } else if secs.is_multiple_of(60) {
            write!(f, "{}/{}m", self.max, secs / 60)
        } else {
            write!(f, "{}/{}s", self.max, secs)
        }
    }
}

/// `N/<number><unit>` with the unit `ms`, `s`, `m` or `h`: `10/15m`, `300/3h`, `2/1s`. The
/// number may be left out for one unit: `100/h`.
impl FromStr for Rule {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let shape = || format!("{raw:?} is not N/<duration>, e.g. 10/15m (units ms, s, m, h)");
        let (count, window) = raw.trim().split_once('/').ok_or_else(shape)?;
        let max: u32 = count.trim().parse().map_err(|_| shape())?;
        let window = window.trim();
        let split = window
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(shape)?;
        let (amount, unit) = window.split_at(split);
        let amount: u64 = if amount.is_empty() {
            1
        } else {
            amount.parse().map_err(|_| shape())?
        };
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(shape()),
        };
        let window_ms = amount.checked_mul(unit_ms).ok_or_else(shape)?;
        Self::new(max, Duration::from_millis(window_ms))
    }
}

/// What a limiter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; a request would be allowed again after `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Self::Allowed
    }
}

/// One GCRA step at `now_ms` for a key whose stored TAT is `tat_ms` (`None`: nothing stored,
/// or expired). Returns the decision and, when the request is allowed, the key's new TAT, to
/// be kept until that time (a key past its TAT is the same as no key). A refused request
/// leaves the TAT as it was: it counts nothing.
pub fn gcra(rule: Rule, tat_ms: Option<u64>, now_ms: u64) -> (Decision, Option<u64>) {
    let tat = tat_ms.unwrap_or(now_ms).max(now_ms);
    let next = tat.saturating_add(rule.interval_ms());
    let allow_at = next.saturating_sub(rule.window_ms());
    if allow_at > now_ms {
        let retry_after = Duration::from_millis(allow_at - now_ms);
        (Decision::Limited { retry_after }, None)
    } else {
        (Decision::Allowed, Some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(raw: &str) -> Rule {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn rules_parse_count_slash_duration() {
        assert_eq!(rule("10/15m").max(), 10);
        assert_eq!(rule("10/15m").window(), Duration::from_secs(900));
        assert_eq!(rule("300/3h").window(), Duration::from_secs(3 * 3600));
        assert_eq!(rule(" 2/1s ").window(), Duration::from_secs(1));
        assert_eq!(rule("100/h").window(), Duration::from_secs(3600));
        assert_eq!(rule("3/500ms").window(), Duration::from_millis(500));
        assert_eq!(rule("1000/1h").interval_ms(), 3_600);
        for bad in [
            "", "10", "10/", "/15m", "0/1m", "-1/1m", "10/15", "10/15x", "10/1.5m", "ten/1m",
            "2000/1s", "10/0s",
        ] {
            assert!(bad.parse::<Rule>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn rules_print_as_they_are_written() {
        for raw in ["10/15m", "300/3h", "2/1s", "3/500ms", "100/90s"] {
            assert_eq!(rule(raw).to_string(), raw);
        }
    }

    /// Runs `times` requests at `now`, returning how many were allowed and the final TAT.
    fn burst(rule: Rule, mut tat: Option<u64>, now: u64, times: u32) -> (u32, Option<u64>) {
        let mut allowed = 0;
        for _ in 0..times {
            if let (Decision::Allowed, next) = gcra(rule, tat, now) {
                allowed += 1;
                tat = next;
            }
        }
        (allowed, tat)
    }

    #[test]
    fn a_burst_of_max_then_refusal_with_the_exact_wait() {
        let r = rule("4/1s"); // one every 250 ms once the burst is spent
        let (allowed, tat) = burst(r, None, 10_000, 10);
        assert_eq!(allowed, 4);
        assert_eq!(tat, Some(11_000));
        assert_eq!(
            gcra(r, tat, 10_000).0,
            Decision::Limited {
                retry_after: Duration::from_millis(250)
            }
        );
        assert_eq!(
            gcra(r, tat, 10_100).0,
            Decision::Limited {
                retry_after: Duration::from_millis(150)
            }
        );
        // At the promised time exactly one more goes through.
        let (allowed, tat) = burst(r, tat, 10_250, 3);
        assert_eq!((allowed, tat), (1, Some(11_250)));
    }

    #[test]
    fn a_refusal_counts_nothing() {
        let r = rule("2/1s");
        let (_, tat) = burst(r, None, 0, 2);
        for now in [0, 100, 200, 400] {
            let (decision, next) = gcra(r, tat, now);
            assert!(!decision.is_allowed(), "at {now}");
            assert_eq!(next, None);
        }
        assert!(gcra(r, tat, 500).0.is_allowed());
    }

    #[test]
    fn a_key_whose_tat_has_passed_is_a_fresh_key() {
        let r = rule("3/300ms");
        let (_, tat) = burst(r, None, 1_000, 3);
        assert_eq!(tat, Some(1_300));
        // After the window the whole burst is back, as if nothing were stored.
        assert_eq!(burst(r, tat, 1_300, 5), burst(r, None, 1_300, 5));
        assert_eq!(burst(r, tat, 5_000, 5).0, 3);
    }

    #[test]
    fn sustained_traffic_gets_max_per_window() {
        let r = rule("10/1s");
        let mut tat = None;
        let mut allowed = 0;
        // A request every millisecond for ten seconds.
        for now in 0..10_000 {
            if let (Decision::Allowed, next) = gcra(r, tat, now) {
                allowed += 1;
                tat = next;
            }
        }
        // The first burst of 10, then one per 100 ms.
        assert_eq!(allowed, 10 + 99);
    }
}
