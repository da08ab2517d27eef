//! The bridge's own settings. The broker's (RABBITMQ_URL, RABBITMQ_NAMESPACE,
//! RABBITMQ_QUEUE_EXPIRY_SECONDS) are read by rookery's Config, exactly as the functions read
//! them, so that both sides agree on the queues.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

#[derive(Debug, PartialEq, Eq)]
pub struct Settings {
    /// BRIDGE_TEMPLATE: the SAM template to read the event sources from.
    pub template: PathBuf,
    /// BRIDGE_INVOKE_URL: where functions are invoked (`cargo lambda watch`'s address).
    pub invoke_url: String,
    /// BRIDGE_SCHEDULE_SECONDS: runs scheduled functions this often instead of the template's
    /// rate (locally, a minute is long to wait for a relay).
    pub schedule_every: Option<Duration>,
}

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let schedule_every = match lookup("BRIDGE_SCHEDULE_SECONDS") {
            None => None,
            Some(text) => Some(
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs)
                    .context(
                        "BRIDGE_SCHEDULE_SECONDS: expected a whole number of seconds, at least 1",
                    )?,
            ),
        };
        let invoke_url =
            lookup("BRIDGE_INVOKE_URL").unwrap_or_else(|| "http://127.0.0.1:9000".into());
        anyhow::ensure!(
            invoke_url.starts_with("http://") || invoke_url.starts_with("https://"),
            "BRIDGE_INVOKE_URL: expected an http:// or https:// URL"
        );
        Ok(Self {
            template: lookup("BRIDGE_TEMPLATE")
                .map_or_else(|| "template.yaml".into(), PathBuf::from),
            invoke_url,
            schedule_every,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_fit_cargo_lambda_watch() -> anyhow::Result<()> {
        assert_eq!(
            settings(&[])?,
            Settings {
                template: "template.yaml".into(),
                invoke_url: "http://127.0.0.1:9000".into(),
                schedule_every: None,
            }
        );
        Ok(())
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("BRIDGE_SCHEDULE_SECONDS", "0"),
            ("BRIDGE_SCHEDULE_SECONDS", "soon"),
            ("BRIDGE_INVOKE_URL", "127.0.0.1:9000"),
        ] {
            let message = settings(&[(name, value)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.starts_with(name), "{name}={value}: {message}");
        }
    }
}
