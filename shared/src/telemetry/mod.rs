//! Logs, traces and metrics (issue 16; DESIGN section 9).
//!
//! - Logs: readable text locally, JSON in Lambda; `RUST_LOG` filters (default `info`). Every
//!   line inside a request or an event carries the fields of the spans it is in: the trace id,
//!   the request id (in Lambda, the runtime's `requestId`), the route and the user id for a
//!   request, the queue and the event id for a consumer.
//! - Traces: [`trace`]. Spans get OpenTelemetry trace ids through `tracing-opentelemetry`; a
//!   request joins the trace of its `traceparent`, and the events it writes carry that trace
//!   to their consumers. Spans leave the process only when an OTLP endpoint is configured.
//! - Metrics: [`metrics`], CloudWatch embedded metric format lines in Lambda.

pub mod metrics;
pub mod trace;

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, TelemetryConfig};

/// The process's span pipeline, kept for [`flush`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Logs to standard output, spans to the OTLP endpoint when one is set, metrics as EMF lines
/// when `settings` asks for them. A second call (tests start several servers) keeps the first.
pub fn init(settings: &TelemetryConfig) {
    init_with(settings, std::io::stdout);
}

/// [`init`], with log lines written to `writer` (tests read their own logs this way).
pub fn init_with<W>(settings: &TelemetryConfig, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    if PROVIDER.get().is_some() {
        return;
    }
    let provider = trace::provider(settings.otlp_endpoint.as_deref());
    let tracer = provider.tracer("rookery");
    if PROVIDER.set(provider).is_err() {
        return; // another thread got here first
    }
    trace::install_propagator();
    if settings.emf_metrics {
        metrics::emit_to_stdout(settings.function.clone());
    }
    let (filter, unreadable) = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let spans = tracing_opentelemetry::layer().with_tracer(tracer);
    let lines = match settings.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(writer)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(spans)
        .with(lines)
        .try_init();
    if let Some(text) = unreadable {
        tracing::warn!(
            rust_log = text,
            "RUST_LOG is not a list of levels per target; logging at info"
        );
    }
}

/// `RUST_LOG` read as levels per target (`info`, `rookery=debug,tower_http=info`): the forms
/// EnvFilter reads but its span and field filters, which need a regex engine in every binary.
/// Unset: `info`. Unreadable: `info`, and the text back, to be reported once logging runs.
fn log_filter(rust_log: Option<&str>) -> (Targets, Option<String>) {
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match rust_log.map(str::trim) {
        None | Some("") => (info(), None),
        Some(text) => match text.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(_) => (info(), Some(text.to_owned())),
        },
    }
}

/// Sends the spans ended so far to the OTLP endpoint, if one is configured. A Lambda function
/// calls it at the end of each invocation: a frozen process exports nothing.
pub fn flush() {
    if let Some(provider) = PROVIDER.get()
        && let Err(err) = provider.force_flush()
    {
        tracing::warn!(error = %err, "could not export spans");
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::log_filter;

    #[test]
    fn rust_log_sets_levels_per_target_and_falls_back_to_info() {
        let (targets, unreadable) = log_filter(Some("warn,rookery=debug"));
        assert!(unreadable.is_none());
        assert!(targets.would_enable("rookery::http", &Level::DEBUG));
        assert!(!targets.would_enable("rookery::http", &Level::TRACE));
        assert!(!targets.would_enable("lapin", &Level::INFO));
        assert!(targets.would_enable("lapin", &Level::WARN));

        let (only_ours, _) = log_filter(Some("rookery=info"));
        assert!(!only_ours.would_enable("tower_http", &Level::ERROR));

        for unset in [None, Some(""), Some("  ")] {
            let (targets, unreadable) = log_filter(unset);
            assert!(unreadable.is_none());
            assert!(targets.would_enable("lapin", &Level::INFO));
            assert!(!targets.would_enable("lapin", &Level::DEBUG));
        }

        let (targets, unreadable) = log_filter(Some("rookery[span{id=1}]=debug"));
        assert_eq!(unreadable.as_deref(), Some("rookery[span{id=1}]=debug"));
        assert!(targets.would_enable("rookery", &Level::INFO));
        assert!(!targets.would_enable("rookery", &Level::DEBUG));
    }
}
