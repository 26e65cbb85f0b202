//! Attempts on one provider: the first credential, then retries with
//! credentials not yet tried while the retry policy allows, each within
//! the provider's deadlines. See `docs/resilience.md`.

use std::sync::Arc;
use std::time::SystemTime;

use super::client::UpstreamBody;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use switchyard_providers::{Api, Dialect};
use switchyard_routing::share::{out_until, unix_ms};
use switchyard_routing::{Transition, Tried};
use tokio::time::{Instant, sleep_until, timeout_at};

use super::Upstream;
use super::classify::{self, Failure};
use crate::body::{APPLICATION_JSON, GatewayBody};
use crate::error::GatewayError;
use crate::pipeline::parse::Parsed;
use crate::relay::{SseRelay, TranslateRelay};
use crate::runtime::Shared;
use crate::telemetry::{AttemptRecord, FailureKind, RequestRecord, trace};
use crate::translate::{self, Fill};

pub static X_PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
pub static X_MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");

/// Upstream error bodies are read (to decide, and to relay if nothing
/// better comes) up to this size.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Largest non-streamed answer read whole for translation.
const MAX_TRANSLATED_BODY: usize = 64 * 1024 * 1024;

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
];

/// What one provider (one hop) did with the request.
// Short-lived and moved once: boxing the response would cost an allocation
// per request to save a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub enum HopResult {
    Served(Response<GatewayBody>),
    /// Every credential is out of rotation: no network attempt was made.
    AllDown,
    Failed(Failure),
}

/// Attempts on `up` for `req`, asking for `model` with `body`.
pub async fn try_provider(
    shared: &Shared,
    up: &Arc<Upstream>,
    model: &str,
    body: Bytes,
    req: &Parsed<'_>,
    hop: u8,
    rec: &mut RequestRecord,
) -> HopResult {
    let ingress = req.ingress;
    let target = up.dialect_for(ingress.dialect);
    let uri = match ingress.api {
        // A provider with the Responses API of its own.
        Api::Responses if target == Dialect::Responses => up
            .endpoint
            .uri(Api::Responses, model)
            .map_err(|e| e.to_string()),
        Api::ChatCompletions | Api::Responses if target != up.endpoint.dialect() => {
            // The provider's own Anthropic-compatible endpoint.
            up.endpoint
                .messages_uri()
                .ok_or_else(|| "no Anthropic-compatible endpoint".to_string())
        }
        // Chat, and Responses bridged through chat.
        Api::ChatCompletions | Api::Responses => up
            .endpoint
            .chat_uri(model, req.stream)
            .map_err(|e| e.to_string()),
        api => match &ingress.resource {
            // Files and batches: the resource path and query as sent.
            Some(r) => up
                .endpoint
                .uri_with(api, model, &r.tail, r.query.as_deref()),
            None => up.endpoint.uri(api, model),
        }
        .map_err(|e| e.to_string()),
    };
    let uri = match uri {
        Ok(u) => u,
        Err(e) => {
            return HopResult::Failed(Failure::error(
                FailureKind::Broken,
                GatewayError::Internal(format!("bad upstream URI: {e}")),
            ));
        }
    };
    let model_header = (!model.is_empty())
        .then(|| HeaderValue::from_str(model).ok())
        .flatten();
    let (max_attempts, retry_deadline) = match &up.retry {
        Some(r) => (r.max_retries.saturating_add(1), req.start + r.retry_timeout),
        None => (1, req.start),
    };
    // A Gemini JSON-array stream is rebuilt from canonical events, whatever
    // the provider's dialect (the provider streams SSE).
    let fill = (target != ingress.dialect || ingress.json_array).then(|| Fill {
        model: model.to_string(),
        client: ingress.dialect,
        responses: req.responses_fill(&shared.responses),
    });
    let model_shared: Arc<str> = Arc::from(model);
    let server = rec.trace.is_some_and(|t| t.sampled).then(|| {
        let host = uri.host().unwrap_or("").to_string();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        (host, port)
    });
    let mut tried = Tried::default();
    let mut attempts = 0u32;
    let mut last: Option<Failure> = None;
    loop {
        // Never a credential already tried for this request; when none is
        // left, retrying stops at once.
        let Some(idx) = up.pool.pick(&tried, Instant::now()) else {
            return match last {
                Some(f) => HopResult::Failed(f),
                None => HopResult::AllDown,
            };
        };
        tried.insert(idx);
        attempts += 1;
        let (span_id, traceparent) = match &rec.trace {
            Some(t) => {
                let (id, header) = trace::attempt_context(t);
                (Some(id), Some(header))
            }
            None => (None, None),
        };
        rec.attempts.push(AttemptRecord {
            provider: up.id.clone(),
            credential: up.masked_shared(idx),
            model: model_shared.clone(),
            system: up.endpoint.kind.name,
            hop,
            started: Instant::now(),
            started_wall: SystemTime::now(),
            ended: None,
            status: None,
            failure: None,
            span_id,
            server: server.clone(),
        });
        let call = Call {
            up,
            idx,
            uri: uri.clone(),
            body: body.clone(),
            model_header: model_header.clone(),
            fill: fill.as_ref(),
            traceparent,
        };
        let result = attempt(shared, call, req).await;
        if let Some(a) = rec.attempts.last_mut() {
            a.ended = Some(Instant::now());
            match &result {
                Ok(resp) => a.status = Some(resp.status().as_u16()),
                Err(f) => {
                    if let Failure::Status { status, .. } = f {
                        a.status = Some(status.as_u16());
                    }
                    a.failure = Some((f.kind(), f.reason()));
                }
            }
        }
        let health = up.pool.health(idx);
        let failure = match result {
            Ok(resp) => {
                if let Some(h) = health {
                    h.record_success();
                }
                return HopResult::Served(resp);
            }
            Err(f) => f,
        };
        tracing::debug!(provider = %up.id, credential = up.masked(idx), attempt = attempts, reason = %failure.reason(), "attempt failed");
        if let (Some(policy), Some(h)) = (up.pool.policy(), health)
            && failure.matches(&policy.failover_on)
            && h.record_failure(policy, &failure.reason(), Instant::now())
                == Some(Transition::WentOut)
        {
            tracing::warn!(provider = %up.id, credential = up.masked(idx), reason = %failure.reason(), "credential out of rotation");
            // Handed over to the sharing task; never waits on Redis.
            if let Some(key) = up.keys.get(idx) {
                shared
                    .health_share
                    .went_out(key, out_until(policy, unix_ms()));
            }
            shared.checker.spawn(up, idx);
        }
        let retryable = up
            .retry
            .as_ref()
            .is_some_and(|r| failure.matches(&r.on_status));
        if !retryable || attempts >= max_attempts || Instant::now() >= retry_deadline {
            return HopResult::Failed(failure);
        }
        last = Some(failure);
    }
}

/// One attempt's inputs.
struct Call<'a> {
    up: &'a Arc<Upstream>,
    idx: usize,
    uri: Uri,
    body: Bytes,
    model_header: Option<HeaderValue>,
    /// Set when the provider's dialect is not the client's.
    fill: Option<&'a Fill>,
    /// This attempt's span, when the request is traced.
    traceparent: Option<HeaderValue>,
}

/// One upstream call with one credential. `Ok` only for a 2xx answer that
/// can be relayed; for a stream, only once its first bytes have arrived,
/// so a failure before then can still be retried.
async fn attempt(
    shared: &Shared,
    call: Call<'_>,
    req: &Parsed<'_>,
) -> Result<Response<GatewayBody>, Failure> {
    let up = call.up;
    let client = req.ingress.dialect;
    let target = up.dialect_for(client);
    let start = Instant::now();
    let deadline = start + up.timeout;
    let first_byte_deadline = start + up.first_byte_timeout;
    let which = if up.first_byte_timeout < up.timeout {
        "firstByteTimeout"
    } else {
        "timeout"
    };
    let timeout = |after, which| {
        Failure::error(
            FailureKind::Timeout,
            GatewayError::UpstreamTimeout {
                provider: up.id.to_string(),
                after,
                which,
            },
        )
    };

    let mut upstream_req = match up
        .prepared_request(&shared.client, call.idx, call.uri, call.body)
        .await
    {
        Ok(r) => r,
        Err(cause) => {
            return Err(Failure::error(
                FailureKind::Connect,
                GatewayError::UpstreamConnect {
                    provider: up.id.to_string(),
                    origin: up.endpoint.origin(),
                    cause: format!("no credential could be obtained: {cause}"),
                },
            ));
        }
    };
    if let Some(r) = &req.ingress.resource
        && r.method != http::Method::POST
    {
        // Files and batches: GET and DELETE, with no body.
        *upstream_req.method_mut() = r.method.clone();
        upstream_req.headers_mut().remove(CONTENT_TYPE);
    }
    req.ingress
        .forwarded
        .apply(upstream_req.headers_mut(), target, call.traceparent);
    let resp = match timeout_at(first_byte_deadline, shared.upstream.send(upstream_req)).await {
        Err(_) => return Err(timeout(up.first_byte_timeout, which)),
        Ok(Err(e)) => return Err(classify::send_error(up, e)),
        Ok(Ok(r)) => r,
    };
    let (parts, mut incoming) = resp.into_parts();
    let status = parts.status;
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.insert(X_PROVIDER.clone(), up.id_header.clone());
    if let Some(m) = call.model_header {
        headers.insert(X_MODEL.clone(), m);
    }
    if let Some(r) = call.fill.and_then(|f| f.responses.as_ref()) {
        r.head(&mut headers);
    }

    if !status.is_success() {
        // Read the (small) error body so the connection is free and the
        // answer can be relayed if no other attempt does better.
        let mut body =
            match timeout_at(deadline, Limited::new(incoming, MAX_ERROR_BODY).collect()).await {
                Ok(Ok(c)) => c.to_bytes(),
                _ => Bytes::new(),
            };
        headers.remove(CONTENT_LENGTH);
        if call.fill.is_some() {
            let err = translate::decode_error(target, status.as_u16(), &body);
            body = Bytes::from(translate::encode_error(client, status.as_u16(), &err));
            headers.insert(CONTENT_TYPE, APPLICATION_JSON.clone());
        }
        return Err(Failure::Status {
            status,
            headers,
            body,
        });
    }

    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_stream = content_type.starts_with(translate::stream_content_type(target));
    if req.stream && is_stream {
        // Wait for the first bytes before answering the client: a provider
        // that never starts is a clean 504 (or a retry), not a hung stream.
        let first = match first_frame(&mut incoming, first_byte_deadline).await {
            Ok(f) => f,
            Err(FirstFrame::Timeout) => return Err(timeout(up.first_byte_timeout, which)),
            Err(FirstFrame::Broken(cause)) => {
                return Err(classify::broken(up, FailureKind::Broken, cause));
            }
        };
        headers.remove(CONTENT_LENGTH);
        let drain = shared.drain.signal();
        let body = match call.fill {
            None => GatewayBody::Sse {
                relay: SseRelay::new(
                    incoming,
                    first,
                    client == Dialect::OpenAi && !req.include_usage,
                    up.id.clone(),
                    client,
                    drain,
                ),
            },
            Some(fill) => {
                let encoder = if req.ingress.json_array {
                    headers.insert(CONTENT_TYPE, APPLICATION_JSON.clone());
                    translate::gemini_array_encoder()
                } else {
                    headers.insert(CONTENT_TYPE, TEXT_EVENT_STREAM.clone());
                    translate::stream_encoder_for(fill, req.include_usage)
                };
                GatewayBody::Translate {
                    relay: TranslateRelay::new(
                        incoming,
                        first,
                        translate::stream_decoder(target),
                        encoder,
                        fill.clone(),
                        up.id.clone(),
                        drain,
                    ),
                }
            }
        };
        return Ok(respond(status, headers, body));
    }
    let Some(fill) = call.fill else {
        let body = GatewayBody::Passthrough {
            inner: incoming,
            deadline: sleep_until(deadline),
            timeout_ms: up.timeout.as_millis(),
        };
        return Ok(respond(status, headers, body));
    };
    // Translate a whole answer: read it, convert, answer.
    let raw = match timeout_at(
        deadline,
        Limited::new(incoming, MAX_TRANSLATED_BODY).collect(),
    )
    .await
    {
        Err(_) => return Err(timeout(up.timeout, "timeout")),
        Ok(Err(e)) => return Err(classify::broken(up, FailureKind::Broken, e.to_string())),
        Ok(Ok(c)) => c.to_bytes(),
    };
    let body = translate::translate_response(target, fill, &raw).map_err(|e| {
        classify::broken(
            up,
            FailureKind::Translation,
            format!("its answer is not a valid {} response ({e})", target.name()),
        )
    })?;
    headers.remove(CONTENT_LENGTH);
    headers.insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    Ok(respond(status, headers, GatewayBody::full(body)))
}

static TEXT_EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

pub fn respond(status: StatusCode, headers: HeaderMap, body: GatewayBody) -> Response<GatewayBody> {
    let mut out = Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

enum FirstFrame {
    Timeout,
    Broken(String),
}

async fn first_frame(
    incoming: &mut UpstreamBody,
    deadline: Instant,
) -> Result<Option<Bytes>, FirstFrame> {
    loop {
        match timeout_at(deadline, incoming.frame()).await {
            Err(_) => return Err(FirstFrame::Timeout),
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => return Err(FirstFrame::Broken(e.to_string())),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                {
                    return Ok(Some(data));
                }
            }
        }
    }
}

fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        h.remove(name);
    }
}
