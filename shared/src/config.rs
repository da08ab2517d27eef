//! The one place that reads the environment. Every variable is parsed here, once; a bad value
//! stops start-up with a message that names the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::limits::Rule;
use crate::services::{FeedSettings, KeySet, RateRules, SigningKey};

#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What logs, traces and metrics need, read before anything else so that everything else can
/// be logged (in Lambda, before the secrets are read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the OpenTelemetry collector spans are exported to
    /// (OTLP/HTTP, protobuf, to its `/v1/traces`); unset, none leave the process.
    pub otlp_endpoint: Option<String>,
    /// Metrics in CloudWatch's embedded format on standard output: in Lambda (where
    /// `AWS_LAMBDA_FUNCTION_NAME` is set), never locally.
    pub emf_metrics: bool,
    /// The `Function` dimension of metrics: `AWS_LAMBDA_FUNCTION_NAME`, or `rookery`.
    pub function: String,
}

impl TelemetryConfig {
    /// # Errors
    /// `LOG_FORMAT` is neither `text` nor `json`, or the OTLP endpoint is not an http(s) URL.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("LOG_FORMAT", "must be text or json")),
        };
        let otlp_endpoint = var("OTEL_EXPORTER_OTLP_ENDPOINT");
        if let Some(endpoint) = &otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(invalid(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "must be an http:// or https:// URL",
            ));
        }
        let lambda = var("AWS_LAMBDA_FUNCTION_NAME");
        Ok(Self {
            log_format,
            otlp_endpoint,
            emf_metrics: lambda.is_some(),
            function: lambda.unwrap_or_else(|| "rookery".to_owned()),
        })
    }
}

/// Everything configurable, with the defaults of the embedded mode.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ROOKERY_ADDR`: where the local server listens.
    pub addr: SocketAddr,
    /// `ROOKERY_DATA_DIR`: the SQLite file, the local token key and the `mail/` folder.
    pub data_dir: PathBuf,
    /// `BCRYPT_COST`: 4..=31.
    pub bcrypt_cost: u32,
    /// `JWT_PRIVATE_KEY`: the Ed25519 key that signs access tokens (PKCS#8 PEM). Only the
    /// functions that issue tokens get it; the local server generates one when it is unset.
    pub jwt_private_key: Option<SecretString>,
    /// `JWT_PUBLIC_KEYS`: the JWK Set of keys that verify access tokens (public, not secret).
    /// Required outside the local server by functions that verify but do not sign.
    pub jwt_public_keys: Option<String>,
    /// `JWT_TTL_SECONDS`: access-token lifetime.
    pub jwt_ttl: Duration,
    /// `REFRESH_TTL_DAYS`: refresh-token lifetime.
    pub refresh_ttl: Duration,
    /// `MAX_FOLLOWING`: how many users one user may follow.
    pub max_following: u64,
    /// `RETENTION_DAYS`: how long sent outbox rows and processed-event ids are kept.
    pub retention: Duration,
    /// `FEED_CAP` and `FANOUT_THRESHOLD`.
    pub feed: FeedSettings,
    /// `MAIL_FROM`: the sender of welcome mails.
    pub mail_from: Mailbox,
    /// `LOG_FORMAT`, `OTEL_EXPORTER_OTLP_ENDPOINT` and the metrics' function name.
    pub telemetry: TelemetryConfig,
    /// `REDIS_URL`: feeds, cached lists and the slot cache in Redis instead of in memory.
    pub redis_url: Option<SecretString>,
    /// `FEED_TTL_DAYS`: a Redis feed not read for this long expires (rebuilt on its next read).
    pub feed_ttl: Duration,
    /// `RABBITMQ_URL`: events through RabbitMQ instead of the in-process bus.
    pub rabbitmq_url: Option<SecretString>,
    /// `RABBITMQ_NAMESPACE`: a prefix for every exchange and queue name, so that several
    /// instances can share one broker (tests do); unset in production.
    pub rabbitmq_namespace: Option<String>,
    /// `RABBITMQ_QUEUE_EXPIRY_SECONDS`: let the broker delete queues unused this long. For
    /// throw-away instances (tests); unset (never) in production.
    pub rabbitmq_queue_expiry: Option<Duration>,
    /// `SMTP_URL`: welcome mails over SMTP instead of into the data folder.
    pub smtp_url: Option<SecretString>,
    /// `DATABASE_URL`: users, posts, outbox and processed events in SQL Server instead of
    /// SQLite (an ADO.NET connection string or an `mssql://` URL).
    pub database_url: Option<SecretString>,
    /// `NEO4J_URI` (with `NEO4J_USER`, `NEO4J_PASSWORD`): where the follow graph lives.
    pub graph: GraphBackend,
    /// `RATE_LIMITS` (`on`/`off`) and one `RATE_LIMIT_*` rule per limit: `None` when off.
    pub rate_limits: Option<RateRules>,
}

/// Where the follow graph lives.
#[derive(Debug, Clone, Default)]
pub enum GraphBackend {
    /// In the SQLite file of the data folder.
    #[default]
    Sqlite,
    /// Neo4j over Bolt: the production graph.
    Neo4j {
        uri: String,
        user: String,
        password: SecretString,
    },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so tests can pass variables without touching the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        if var("JWT_SECRET").is_some() {
            return Err(invalid(
                "JWT_SECRET",
                "is no longer used: tokens are signed with JWT_PRIVATE_KEY and verified with \
                 JWT_PUBLIC_KEYS (see the README)",
            ));
        }
        let jwt_private_key = match var("JWT_PRIVATE_KEY") {
            Some(pem) => {
                SigningKey::from_pem(&pem)
                    .map_err(|e| invalid("JWT_PRIVATE_KEY", e.to_string()))?;
                Some(SecretString::from(pem))
            }
            None => None,
        };
        let jwt_public_keys = match var("JWT_PUBLIC_KEYS") {
            Some(jwks) => {
                KeySet::from_jwks(&jwks).map_err(|e| invalid("JWT_PUBLIC_KEYS", e.to_string()))?;
                Some(jwks)
            }
            None => None,
        };
        let refresh_days = parsed(&var, "REFRESH_TTL_DAYS", 30u64)?;
        if refresh_days == 0 {
            return Err(invalid("REFRESH_TTL_DAYS", "must be at least 1"));
        }
        let bcrypt_cost = parsed(&var, "BCRYPT_COST", 12u32)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(invalid("BCRYPT_COST", "must be from 4 to 31"));
        }
        let cap = parsed(&var, "FEED_CAP", 800usize)?;
        if cap == 0 {
            return Err(invalid("FEED_CAP", "must be at least 1"));
        }
        let ttl_days = parsed(&var, "FEED_TTL_DAYS", 30u64)?;
        if ttl_days == 0 {
            return Err(invalid("FEED_TTL_DAYS", "must be at least 1"));
        }
        let ttl = parsed(&var, "JWT_TTL_SECONDS", 900u64)?;
        if ttl == 0 {
            return Err(invalid("JWT_TTL_SECONDS", "must be at least 1"));
        }
        Ok(Self {
            addr: parsed(
                &var,
                "ROOKERY_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
            )?,
            data_dir: var("ROOKERY_DATA_DIR")
                .map_or_else(|| PathBuf::from("./data"), PathBuf::from),
            bcrypt_cost,
            jwt_private_key,
            jwt_public_keys,
            jwt_ttl: Duration::from_secs(ttl),
            refresh_ttl: Duration::from_secs(refresh_days.saturating_mul(86_400)),
            retention: match parsed(&var, "RETENTION_DAYS", 7u64)? {
                0 => return Err(invalid("RETENTION_DAYS", "must be at least 1")),
                days => Duration::from_secs(days.saturating_mul(86_400)),
            },
            max_following: match parsed(&var, "MAX_FOLLOWING", 5_000u64)? {
                0 => return Err(invalid("MAX_FOLLOWING", "must be at least 1")),
                n => n,
            },
            feed: FeedSettings {
                cap,
                celebrity_threshold: parsed(&var, "FANOUT_THRESHOLD", 10_000u64)?,
            },
            mail_from: parsed(
                &var,
                "MAIL_FROM",
                Mailbox::from_str("Rookery <no-reply@rookery.local>")
                    .map_err(|e| invalid("MAIL_FROM", e.to_string()))?,
            )?,
            telemetry: TelemetryConfig::from_lookup(&lookup)?,
            redis_url: url(&var, "REDIS_URL", &["redis", "rediss", "unix"])?,
            feed_ttl: Duration::from_secs(ttl_days.saturating_mul(86_400)),
            rabbitmq_url: url(&var, "RABBITMQ_URL", &["amqp", "amqps"])?,
            rabbitmq_namespace: var("RABBITMQ_NAMESPACE"),
            rabbitmq_queue_expiry: match var("RABBITMQ_QUEUE_EXPIRY_SECONDS") {
                None => None,
                Some(_) => match parsed(&var, "RABBITMQ_QUEUE_EXPIRY_SECONDS", 0u64)? {
                    0 => {
                        return Err(invalid(
                            "RABBITMQ_QUEUE_EXPIRY_SECONDS",
                            "must be at least 1",
                        ));
                    }
                    secs => Some(Duration::from_secs(secs)),
                },
            },
            smtp_url: url(&var, "SMTP_URL", &["smtp", "smtps"])?,
            database_url: database_url(&var)?,
            graph: graph(&var)?,
            rate_limits: rate_limits(&var)?,
        })
    }
}

/// The rate limits of DESIGN 4.4: each rule `N/<duration>` (`10/15m`), all of them parsed (and
/// a bad one refused) even when `RATE_LIMITS=off`.
fn rate_limits(
    var: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<RateRules>, ConfigError> {
    let rule = |name: &'static str, default: Rule| match var(name) {
        None => Ok(default),
        Some(raw) => raw.parse::<Rule>().map_err(|e| invalid(name, e)),
    };
    let d = RateRules::default();
    let rules = RateRules {
        login_failures: rule("RATE_LIMIT_LOGIN_FAILURES", d.login_failures)?,
        login_attempts: rule("RATE_LIMIT_LOGIN_ATTEMPTS", d.login_attempts)?,
        register: rule("RATE_LIMIT_REGISTER", d.register)?,
        posts: rule("RATE_LIMIT_POSTS", d.posts)?,
        writes: rule("RATE_LIMIT_WRITES", d.writes)?,
    };
    match var("RATE_LIMITS").as_deref().map(str::trim) {
        None | Some("on") => Ok(Some(rules)),
        Some("off") => Ok(None),
        Some(_) => Err(invalid("RATE_LIMITS", "must be on or off")),
    }
}

/// SQL Server: an ADO.NET string (`server=tcp:host,1433;database=...;user=...;password=...`)
/// or an `mssql://user:pass@host:1433/db` URL; the adapter parses the details.
fn database_url(
    var: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    let Some(raw) = var("DATABASE_URL") else {
        return Ok(None);
    };
    let lower = raw.trim().to_ascii_lowercase();
    let ado = lower.split(';').any(|part| {
        let key = part.split('=').next().unwrap_or_default().trim();
        matches!(key, "server" | "data source")
    });
    if lower.starts_with("mssql://") || ado {
        Ok(Some(SecretString::from(raw)))
    } else {
        Err(invalid(
            "DATABASE_URL",
            "must be an ADO.NET connection string (server=tcp:host,1433;...) or an mssql:// URL",
        ))
    }
}

fn graph(var: &impl Fn(&'static str) -> Option<String>) -> Result<GraphBackend, ConfigError> {
    let neo4j = url(
        var,
        "NEO4J_URI",
        &[
            "bolt",
            "bolt+s",
            "bolt+ssc",
            "neo4j",
            "neo4j+s",
            "neo4j+ssc",
        ],
    )?;
    match neo4j {
        Some(uri) => Ok(GraphBackend::Neo4j {
            uri: uri.expose_secret().to_owned(),
            user: var("NEO4J_USER").unwrap_or_else(|| "neo4j".to_owned()),
            password: var("NEO4J_PASSWORD")
                .map(SecretString::from)
                .ok_or_else(|| invalid("NEO4J_PASSWORD", "is required with NEO4J_URI"))?,
        }),
        None => Ok(GraphBackend::Sqlite),
    }
}

/// A connection URL whose scheme is one of `schemes`. URLs may carry passwords, so the value is
/// kept secret and never repeated in an error.
fn url(
    var: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    schemes: &[&str],
) -> Result<Option<SecretString>, ConfigError> {
    let Some(raw) = var(name) else {
        return Ok(None);
    };
    let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some(scheme) if schemes.contains(&scheme) => Ok(Some(SecretString::from(raw))),
        _ => Err(invalid(
            name,
            format!("must be a URL starting with {}://", schemes.join(":// or ")),
        )),
    }
}

fn parsed<T>(
    var: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| invalid(name, format!("cannot parse {raw:?}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_mode() -> Result<(), ConfigError> {
        let c = config(&[])?;
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.bcrypt_cost, 12);
        assert!(c.jwt_private_key.is_none() && c.jwt_public_keys.is_none());
        assert_eq!(c.jwt_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(c.max_following, 5_000);
        assert_eq!(c.feed.cap, 800);
        assert_eq!(c.feed.celebrity_threshold, 10_000);
        Ok(())
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("ROOKERY_ADDR", "nowhere"),
            ("BCRYPT_COST", "3"),
            ("BCRYPT_COST", "twelve"),
            ("JWT_SECRET", "an-old-shared-secret-of-thirty-two-bytes"),
            ("JWT_PRIVATE_KEY", "not a key"),
            ("JWT_PUBLIC_KEYS", "[]"),
            ("REFRESH_TTL_DAYS", "0"),
            ("MAX_FOLLOWING", "0"),
            ("RETENTION_DAYS", "0"),
            ("FEED_CAP", "0"),
            ("LOG_FORMAT", "xml"),
            ("MAIL_FROM", "not an address"),
            ("REDIS_URL", "http://127.0.0.1"),
            ("RABBITMQ_URL", "127.0.0.1:5672"),
            ("SMTP_URL", "mail.example.com"),
            ("FEED_TTL_DAYS", "0"),
            ("RABBITMQ_QUEUE_EXPIRY_SECONDS", "0"),
            ("RABBITMQ_QUEUE_EXPIRY_SECONDS", "soon"),
            ("DATABASE_URL", "postgres://db"),
            ("DATABASE_URL", "sqlserver://sa:x@db"),
            ("DATABASE_URL", "addr=db;user=sa"),
            ("NEO4J_URI", "http://127.0.0.1:7474"),
            ("RATE_LIMITS", "no"),
            ("RATE_LIMIT_LOGIN_FAILURES", "10"),
            ("RATE_LIMIT_LOGIN_ATTEMPTS", "0/15m"),
            ("RATE_LIMIT_REGISTER", "10/1d"),
            ("RATE_LIMIT_POSTS", "many/3h"),
            ("RATE_LIMIT_WRITES", "5000/1s"),
        ] {
            let err = config(&[(var, value)]).err().map(|e| e.var);
            assert_eq!(err, Some(var), "{var}={value}");
        }
    }

    #[test]
    fn rate_limits_are_on_by_default_and_each_rule_configurable() -> Result<(), ConfigError> {
        assert_eq!(config(&[])?.rate_limits, Some(RateRules::default()));
        assert_eq!(
            config(&[("RATE_LIMITS", "on")])?.rate_limits,
            Some(RateRules::default())
        );
        assert_eq!(config(&[("RATE_LIMITS", "off")])?.rate_limits, None);
        let c = config(&[
            ("RATE_LIMIT_LOGIN_FAILURES", "2/1s"),
            ("RATE_LIMIT_LOGIN_ATTEMPTS", "5/2m"),
            ("RATE_LIMIT_REGISTER", "3/1h"),
            ("RATE_LIMIT_POSTS", "4/500ms"),
            ("RATE_LIMIT_WRITES", "6/10s"),
        ])?;
        let rules = c.rate_limits.unwrap_or_default();
        let shown = [
            rules.login_failures,
            rules.login_attempts,
            rules.register,
            rules.posts,
            rules.writes,
        ]
        .map(|rule| rule.to_string());
        assert_eq!(shown, ["2/1s", "5/2m", "3/1h", "4/500ms", "6/10s"]);
        // A bad rule is refused even with the limits off: turning them on must not fail later.
        let err = config(&[("RATE_LIMITS", "off"), ("RATE_LIMIT_POSTS", "x")]).err();
        assert_eq!(err.map(|e| e.var), Some("RATE_LIMIT_POSTS"));
        Ok(())
    }

    #[test]
    fn service_urls_select_real_adapters_and_stay_secret() -> Result<(), ConfigError> {
        let c = config(&[
            ("REDIS_URL", "redis://:hunter2@127.0.0.1:6379/0"),
            (
                "RABBITMQ_URL",
                "amqps://user:hunter2@mq.example.com:5671/%2f",
            ),
            (
                "SMTP_URL",
                "smtp://user:hunter2@mail.example.com:587?tls=required",
            ),
        ])?;
        assert!(c.redis_url.is_some() && c.rabbitmq_url.is_some() && c.smtp_url.is_some());
        assert!(!format!("{c:?}").contains("hunter2"));
        let err = config(&[("SMTP_URL", "ftp://user:hunter2@host")]).err();
        assert!(err.is_some_and(|e| !e.to_string().contains("hunter2")));
        Ok(())
    }

    #[test]
    fn stores_are_chosen_by_their_variables() -> Result<(), ConfigError> {
        let c = config(&[])?;
        assert!(c.database_url.is_none() && matches!(c.graph, GraphBackend::Sqlite));
        for ok in [
            "server=tcp:db.example.com,1433;database=rookery;user=sa;password=hunter2",
            "Data Source=db;User ID=sa;Password=hunter2",
            "mssql://sa:hunter2@db:1433/rookery",
        ] {
            let c = config(&[("DATABASE_URL", ok)])?;
            assert!(c.database_url.is_some(), "{ok}");
            assert!(!format!("{c:?}").contains("hunter2"));
        }
        let c = config(&[
            ("NEO4J_URI", "neo4j+s://graph.example.com"),
            ("NEO4J_PASSWORD", "hunter2"),
        ])?;
        assert!(matches!(&c.graph, GraphBackend::Neo4j { user, .. } if user == "neo4j"));
        assert!(!format!("{c:?}").contains("hunter2"));
        let err = config(&[("NEO4J_URI", "bolt://127.0.0.1:7687")]).err();
        assert_eq!(err.map(|e| e.var), Some("NEO4J_PASSWORD"));
        Ok(())
    }

    #[test]
    fn the_private_key_is_not_printed_by_debug() -> anyhow::Result<()> {
        let pem = SigningKey::generate().to_pem()?;
        let pem = secrecy::ExposeSecret::expose_secret(&pem).to_owned();
        let c = config(&[("JWT_PRIVATE_KEY", &pem)])?;
        assert!(c.jwt_private_key.is_some());
        let body = pem.lines().nth(1).unwrap_or("?");
        assert!(!format!("{c:?}").contains(body));
        Ok(())
    }
}
