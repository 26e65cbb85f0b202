//! OpenTelemetry traces: one SERVER span per request and one CLIENT span
//! per upstream attempt, with `gen_ai.*` attributes, sent over OTLP/HTTP
//! by the `switchyard-otel` exporter through the gateway's own client.
//! The attempt's span id goes upstream in `traceparent`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use switchyard_config::OtelConfig;
use switchyard_otel::semconv as sc;
use switchyard_otel::{
    Exporter, ExporterConfig, ExporterHandle, KeyValue, Sampler, Span, SpanId, SpanKind,
    SpanStatus, TraceContext, Transport,
};
use switchyard_protocol::canonical::StopReason;
use switchyard_providers::Api;

use super::account::Accounted;
use super::record::{RequestRecord, TraceState};
use crate::runtime::{BuildError, HttpClient};

pub static TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
pub static TRACESTATE: http::HeaderName = http::HeaderName::from_static("tracestate");

pub struct Tracer {
    sampler: Sampler,
    exporter: ExporterHandle,
}

struct HyperTransport {
    client: HttpClient,
}

impl Transport for HyperTransport {
    fn post(
        &self,
        uri: Uri,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<u16, String>> + Send + '_>> {
        Box::pin(async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(body))
                .map_err(|e| e.to_string())?;
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let _ = resp.into_body().collect().await;
            Ok(status)
        })
    }
}

impl Tracer {
    pub fn start(cfg: &OtelConfig, client: HttpClient) -> Result<Tracer, BuildError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BuildError(
                "otel: the trace exporter must be started inside the async runtime".into(),
            ));
        }
        let endpoint = traces_url(&cfg.endpoint)
            .ok_or_else(|| BuildError(format!("otel.endpoint `{}` is not a URL", cfg.endpoint)))?;
        let exporter = Exporter::spawn(
            ExporterConfig::new(endpoint, cfg.service_name.clone()),
            Arc::new(HyperTransport { client }),
        );
        Ok(Tracer {
            sampler: Sampler::new(cfg.sample_ratio),
            exporter,
        })
    }

    pub fn exporter(&self) -> ExporterHandle {
        self.exporter.clone()
    }

    /// The trace of a new request: a child of the client's `traceparent`
    /// (whose sampled flag decides), or a new trace sampled by ratio.
    /// Unsampled requests record nothing but pass a `traceparent` on.
    pub fn begin(&self, headers: &HeaderMap) -> TraceState {
        let parent = headers
            .get(&TRACEPARENT)
            .and_then(TraceContext::from_header);
        let ctx = self.sampler.server_context(parent.as_ref());
        TraceState {
            trace_id: ctx.trace_id,
            span_id: ctx.span_id,
            parent: parent.map(|p| p.span_id),
            sampled: ctx.sampled,
        }
    }

    /// Wait until every span exported so far has been sent.
    pub async fn flush(&self) {
        self.exporter.flush().await;
    }
}

/// `http://host:4318` -> `http://host:4318/v1/traces`; a URL with a path
/// is used as it is.
fn traces_url(endpoint: &str) -> Option<Uri> {
    let u: Uri = endpoint.parse().ok()?;
    if u.path() == "/" {
        format!("{}/v1/traces", endpoint.trim_end_matches('/'))
            .parse()
            .ok()
    } else {
        Some(u)
    }
}

/// A new span id for an attempt and the `traceparent` that carries it.
pub fn attempt_context(t: &TraceState) -> (SpanId, HeaderValue) {
    let span_id = SpanId::random();
    let ctx = TraceContext {
        trace_id: t.trace_id,
        span_id,
        sampled: t.sampled,
    };
    (span_id, ctx.traceparent())
}

fn operation(api: Option<Api>, path: &str) -> &'static str {
    match api {
        Some(Api::Embeddings) => sc::OPERATION_EMBEDDINGS,
        Some(Api::Completions) => sc::OPERATION_TEXT_COMPLETION,
        // No well-known name: the API's own (`audio.speech`, ...).
        Some(api) if api.passthrough() => api.name(),
        _ if path.contains(":generateContent") || path.contains(":streamGenerateContent") => {
            sc::OPERATION_GENERATE_CONTENT
        }
        _ => sc::OPERATION_CHAT,
    }
}

/// `gen_ai.system` / `gen_ai.provider.name` for a provider type: the
/// semantic conventions' well-known values where there is one.
fn genai_system(kind: &'static str) -> &'static str {
    match kind {
        "azure" => "azure.ai.openai",
        "claude" => "anthropic",
        "gemini" => "gcp.gemini",
        "vertex" => "gcp.vertex_ai",
        "bedrock" => "aws.bedrock",
        "mistral" => "mistral_ai",
        "grok" => "x_ai",
        other => other,
    }
}

pub fn finish_reason(r: &StopReason) -> &'static str {
    match r {
        StopReason::Stop => "stop",
        StopReason::Length => "length",
        StopReason::ToolCalls => "tool_calls",
        StopReason::ContentFilter => "content_filter",
        StopReason::Other => "other",
    }
}

/// Build the request's spans and queue them for export.
pub fn export(exporter: &ExporterHandle, rec: &RequestRecord, acc: &Accounted) {
    let Some(t) = rec.trace.filter(|t| t.sampled) else {
        return;
    };
    let op = operation(rec.api, &rec.path);
    let requested = rec.requested_model.as_deref().unwrap_or("");
    let ended = rec.ended.unwrap_or(rec.started);
    let mut spans = Vec::with_capacity(1 + rec.attempts.len());

    let mut root = Span {
        trace_id: t.trace_id,
        span_id: t.span_id,
        parent_span_id: t.parent,
        name: sc::span_name(op, requested),
        kind: SpanKind::Server,
        start: rec.started_wall,
        end: rec.started_wall + acc.total,
        attributes: Vec::with_capacity(16),
        status: SpanStatus::Unset,
        events: Vec::new(),
    };
    let served = rec.served();
    let a = &mut root.attributes;
    a.push(KeyValue::str(sc::GEN_AI_OPERATION_NAME, op));
    if let Some(s) = served.or(rec.attempts.last()) {
        a.push(KeyValue::str(sc::GEN_AI_SYSTEM, genai_system(s.system)));
        a.push(KeyValue::str(
            sc::GEN_AI_PROVIDER_NAME,
            genai_system(s.system),
        ));
    }
    if !requested.is_empty() {
        a.push(KeyValue::str(sc::GEN_AI_REQUEST_MODEL, requested));
    }
    if let Some(s) = served {
        let model = acc.response_model.as_deref().unwrap_or(&s.model);
        a.push(KeyValue::str(sc::GEN_AI_RESPONSE_MODEL, model));
        a.push(KeyValue::int(
            sc::GEN_AI_USAGE_INPUT_TOKENS,
            acc.usage.input_tokens as i64,
        ));
        a.push(KeyValue::int(
            sc::GEN_AI_USAGE_OUTPUT_TOKENS,
            acc.usage.output_tokens as i64,
        ));
        if let Some(r) = &acc.finish_reason {
            a.push(KeyValue::str_array(
                sc::GEN_AI_RESPONSE_FINISH_REASONS,
                [finish_reason(r)],
            ));
        }
        if let Some(id) = &acc.chat_id {
            a.push(KeyValue::str(sc::GEN_AI_RESPONSE_ID, id.clone()));
        }
        a.push(KeyValue::bool("switchyard.tokens.estimated", acc.estimated));
    }
    a.push(KeyValue::str(sc::HTTP_REQUEST_METHOD, rec.method.as_str()));
    a.push(KeyValue::str(sc::URL_PATH, &*rec.path));
    a.push(KeyValue::int(
        sc::HTTP_RESPONSE_STATUS_CODE,
        rec.status as i64,
    ));
    if let Some(r) = &rec.route {
        a.push(KeyValue::str("switchyard.route", &**r));
    }
    if let Ok(id) = rec.request_id.to_str() {
        a.push(KeyValue::str("switchyard.request_id", id));
    }
    if let Some(f) = &rec.fallback_from {
        a.push(KeyValue::str("switchyard.fallback_from", f.clone()));
    }
    if let Some(first) = acc.first_token {
        a.push(KeyValue::float(
            "switchyard.time_to_first_token_ms",
            first.as_secs_f64() * 1000.0,
        ));
    }
    if rec.status >= 400 || acc.interrupted.is_some() {
        let kind = match (&rec.error, &acc.interrupted) {
            (Some((code, _)), _) => (*code).to_string(),
            (None, Some(_)) => "stream_interrupted".to_string(),
            _ => rec.status.to_string(),
        };
        a.push(KeyValue::str(sc::ERROR_TYPE, kind));
        let msg = match (&rec.error, &acc.interrupted) {
            (Some((_, m)), _) | (None, Some(m)) => m.clone(),
            _ => format!("HTTP {}", rec.status),
        };
        root.status = SpanStatus::Error(msg);
    }

    let n = rec.attempts.len();
    for (i, at) in rec.attempts.iter().enumerate() {
        let Some(span_id) = at.span_id else { continue };
        let end = match (i + 1 == n, rec.upstream_end) {
            (true, Some(e)) if at.failure.is_none() => e,
            _ => at.ended.unwrap_or(ended),
        };
        // Never past the request's own end (separate clock readings).
        let took = end.min(ended).saturating_duration_since(at.started);
        let mut s = Span {
            trace_id: t.trace_id,
            span_id,
            parent_span_id: Some(t.span_id),
            name: sc::span_name(op, &at.model),
            kind: SpanKind::Client,
            start: at.started_wall,
            end: at.started_wall + took,
            attributes: Vec::with_capacity(12),
            status: SpanStatus::Unset,
            events: Vec::new(),
        };
        let a = &mut s.attributes;
        a.push(KeyValue::str(sc::GEN_AI_OPERATION_NAME, op));
        a.push(KeyValue::str(sc::GEN_AI_SYSTEM, genai_system(at.system)));
        a.push(KeyValue::str(
            sc::GEN_AI_PROVIDER_NAME,
            genai_system(at.system),
        ));
        a.push(KeyValue::str(sc::GEN_AI_REQUEST_MODEL, &*at.model));
        if let Some((host, port)) = &at.server {
            a.push(KeyValue::str(sc::SERVER_ADDRESS, host.clone()));
            a.push(KeyValue::int(sc::SERVER_PORT, *port as i64));
        }
        a.push(KeyValue::str("switchyard.provider", &*at.provider));
        a.push(KeyValue::str("switchyard.credential", &*at.credential));
        a.push(KeyValue::int("switchyard.attempt", i as i64 + 1));
        if let Some(st) = at.status {
            a.push(KeyValue::int(sc::HTTP_RESPONSE_STATUS_CODE, st as i64));
        }
        if let Some((kind, msg)) = &at.failure {
            let ty = match (kind, at.status) {
                (super::FailureKind::Status, Some(st)) => st.to_string(),
                _ => kind.as_str().to_string(),
            };
            a.push(KeyValue::str(sc::ERROR_TYPE, ty));
            s.status = SpanStatus::Error(msg.clone());
        } else if served.is_some() && i + 1 == n {
            if let Some(m) = &acc.response_model {
                a.push(KeyValue::str(sc::GEN_AI_RESPONSE_MODEL, m.clone()));
            }
            a.push(KeyValue::int(
                sc::GEN_AI_USAGE_INPUT_TOKENS,
                acc.usage.input_tokens as i64,
            ));
            a.push(KeyValue::int(
                sc::GEN_AI_USAGE_OUTPUT_TOKENS,
                acc.usage.output_tokens as i64,
            ));
        }
        spans.push(s);
    }
    spans.insert(0, root);
    exporter.export(spans);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_urls() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap().to_string(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://127.0.0.1:4318/").unwrap().to_string(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example.com/custom/v1/traces")
                .unwrap()
                .to_string(),
            "https://otel.example.com/custom/v1/traces"
        );
    }
}
