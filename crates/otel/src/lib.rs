//! OpenTelemetry tracing for the gateway, without the OpenTelemetry SDK
//! crates (which would bring a second HTTP stack and prost): W3C trace
//! context ([`TraceContext`]), head sampling ([`Sampler`]), span data
//! ([`Span`]), OTLP/HTTP JSON encoding ([`encode_traces`]) and a batching
//! exporter ([`Exporter`]) that posts through the gateway's own HTTP client
//! ([`Transport`]). Nothing here touches a socket.
//!
//! # The trace model
//!
//! Each gateway request is one SERVER span named after the GenAI semantic
//! conventions, `"{gen_ai.operation.name} {gen_ai.request.model}"` (e.g.
//! `chat gpt-4o`; [`semconv::span_name`]). It continues the trace of the
//! client's `traceparent` when that header is valid, and otherwise starts a
//! new trace ([`Sampler::server_context`]).
//!
//! Each attempt at an upstream provider (first try, retry or fallback) is one
//! CLIENT child span of the request span, with the same name form using the
//! model name sent upstream, plus `server.address`, `server.port`,
//! `gen_ai.provider.name` and the response attributes. The attempt's
//! `traceparent` ([`TraceContext::traceparent`]) carries the attempt span's
//! id, so a provider that traces links its spans under the attempt that
//! caused them.
//!
//! Sampling is decided once, for the SERVER span, and inherited by its
//! children: parent-based when the client sent a `traceparent`, trace-id
//! ratio based otherwise. Unsampled requests build no spans, but still
//! propagate `traceparent` with the sampled flag cleared.
//!
//! Finished spans go to [`ExporterHandle::export`], which never blocks; a
//! background task batches them into OTLP/HTTP JSON requests.

pub mod context;
pub mod exporter;
pub mod otlp;
pub mod sampler;
pub mod semconv;
pub mod span;

pub use context::{SpanId, TRACEPARENT, TraceContext, TraceId, parse_traceparent};
pub use exporter::{Exporter, ExporterConfig, ExporterHandle, Transport};
pub use otlp::encode_traces;
pub use sampler::Sampler;
pub use span::{KeyValue, Span, SpanEvent, SpanKind, SpanStatus, Value};
