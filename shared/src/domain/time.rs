//! Timestamps: UTC, millisecond precision, RFC 3339 on the wire.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis())
    }

    pub fn from_millis(millis: i64) -> Self {
        Self(
            Utc.timestamp_millis_opt(millis)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        )
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn secs(&self) -> i64 {
        self.0.timestamp()
    }

    pub fn rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn parse_rfc3339(raw: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| Self::from_millis(t.timestamp_millis()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&raw)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_utc_with_millis() {
        let ts = Timestamp::from_millis(1_764_028_800_123);
        assert_eq!(ts.rfc3339(), "2025-11-25T00:00:00.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&ts.rfc3339()), Some(ts));
    }
}
