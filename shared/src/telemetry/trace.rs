//! W3C trace context across every hop: an HTTP request joins the trace of its `traceparent`
//! (or starts one); the events it writes carry that trace through the outbox and the message
//! headers; the consumer's span joins it again. The propagation format is OpenTelemetry's
//! `TraceContextPropagator`; nothing here is a format of our own.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{TraceContextExt as _, TraceId};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::domain::{Event, TraceContext};

/// The span pipeline: ids for every span always; export over OTLP/HTTP (protobuf) to
/// `endpoint` when one is given, batched on the SDK's own thread.
pub(super) fn provider(endpoint: Option<&str>) -> SdkTracerProvider {
    let builder = SdkTracerProvider::builder();
    let Some(endpoint) = endpoint else {
        return builder.build();
    };
    // OTEL_EXPORTER_OTLP_ENDPOINT names the collector; traces go to its /v1/traces, as the
    // OpenTelemetry specification says for that variable.
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .with_headers(HashMap::new())
        .build()
    {
        Ok(exporter) => builder.with_batch_exporter(exporter).build(),
        Err(err) => {
            // Telemetry must never stop the service: log lines still carry the trace ids.
            eprintln!("OTEL_EXPORTER_OTLP_ENDPOINT: spans are not exported: {err}");
            builder.build()
        }
    }
}

pub(super) fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// The trace context of the current span, to hand on to what this span causes (the events a
/// request writes); `None` when there is no trace (telemetry not set up).
pub fn current() -> Option<TraceContext> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&Span::current().context(), &mut carrier);
    carrier
        .get(TraceContext::HEADER)
        .and_then(|value| TraceContext::parse(value))
}

/// Makes `span` a child of `parent` (a request's `traceparent`, an event's trace), or the root
/// of a new trace without one, and records the trace id in its `trace_id` field, so that every
/// log line inside it names the trace.
pub fn adopt(span: &Span, parent: Option<&TraceContext>) {
    if let Some(parent) = parent {
        let carrier =
            HashMap::from([(TraceContext::HEADER.to_owned(), parent.as_str().to_owned())]);
        let context = TraceContextPropagator::new().extract(&carrier);
        // Refused only for a span that is already closed or not sampled by the layer: it then
        // keeps a trace of its own.
        let _ = span.set_parent(context);
    }
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// The span a consumer handles `event` in, joined to the trace the event carries.
pub fn consume_span(queue: &str, event: &Event) -> Span {
    let span = tracing::info_span!(
        "consume",
        queue,
        event_id = %event.id,
        event_type = event.kind(),
        trace_id = tracing::field::Empty,
    );
    adopt(&span, event.trace.as_ref());
    span
}
