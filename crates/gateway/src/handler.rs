//! Request dispatch: which endpoint, body limits, and turning every
//! failure into an OpenAI-shaped error response.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use switchyard_protocol::canonical::StreamError;
use switchyard_protocol::{ErrorKind, RequestError};
use switchyard_providers::{Api, Dialect};

use crate::body::APPLICATION_JSON;
use crate::body::GatewayBody;
use crate::error::GatewayError;
use crate::proxy::{self, Ingress};
use crate::runtime::Runtime;
use crate::telemetry::trace::{TRACEPARENT, TRACESTATE};
use crate::telemetry::{ObservedBody, RequestRecord};
use crate::translate;
use tokio::time::Instant;

pub async fn handle(
    rt: Arc<Runtime>,
    req: Request<Incoming>,
) -> Result<Response<ObservedBody>, Infallible> {
    let endpoint = endpoint_for(req.uri().path());
    let dialect = match &endpoint {
        Some(Endpoint::Model(i)) => i.dialect,
        _ => Dialect::OpenAi,
    };
    let request_id = request_id(req.headers());
    // Liveness probes are not requests worth a log line.
    let accounted = rt.telemetry.enabled() && !matches!(endpoint, Some(Endpoint::Health));
    let mut rec = Box::new(RequestRecord::new(
        request_id.clone(),
        req.method().clone(),
        req.uri().path(),
        dialect,
    ));
    if let Some(t) = &rt.telemetry.tracer {
        rec.trace = Some(t.begin(req.headers()));
    }
    let mut resp = match dispatch(&rt, req, &request_id, &mut rec).await {
        Ok(r) => r,
        Err(e) => {
            if e.status().is_server_error() {
                tracing::warn!(status = e.status().as_u16(), error = %e, request_id = ?request_id, "request failed");
            } else {
                tracing::debug!(status = e.status().as_u16(), error = %e, request_id = ?request_id, "request rejected");
            }
            rec.error = Some((e.code(), e.to_string()));
            error_response(&e, dialect)
        }
    };
    let now = Instant::now();
    rec.status = resp.status().as_u16();
    let h = resp.headers_mut();
    // The provider's own id stays available for its support.
    if let Some(upstream) = h.remove(&X_REQUEST_ID) {
        h.insert(X_UPSTREAM_REQUEST_ID.clone(), upstream);
    }
    h.insert(X_REQUEST_ID.clone(), request_id);
    h.insert(X_OVERHEAD_MS.clone(), overhead_ms(rec.overhead(now)));
    let (parts, body) = resp.into_parts();
    let body = if accounted {
        ObservedBody::new(body, rec, rt.telemetry.clone())
    } else {
        ObservedBody::plain(body)
    };
    Ok(Response::from_parts(parts, body))
}

/// The gateway's own time until the response head, in milliseconds.
pub static X_OVERHEAD_MS: http::HeaderName =
    http::HeaderName::from_static("x-switchyard-overhead-ms");

fn overhead_ms(d: std::time::Duration) -> HeaderValue {
    let us = d.as_micros();
    HeaderValue::from_str(&format!("{}.{:03}", us / 1000, us % 1000))
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

pub static X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");
static X_UPSTREAM_REQUEST_ID: http::HeaderName =
    http::HeaderName::from_static("x-upstream-request-id");

/// The client's `x-request-id` when it is a sensible one (1-128 visible
/// ASCII characters), else a new `sy-` id.
fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(&X_REQUEST_ID)
        && !v.is_empty()
        && v.len() <= 128
        && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    {
        return v.clone();
    }
    let mut buf = [0u8; 19];
    buf[..3].copy_from_slice(b"sy-");
    let n = fastrand::u64(..);
    for (i, slot) in buf[3..].iter_mut().enumerate() {
        let nibble = ((n >> (60 - 4 * i)) & 0xf) as u8;
        *slot = if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        };
    }
    HeaderValue::from_bytes(&buf).unwrap_or_else(|_| HeaderValue::from_static("sy-0"))
}

/// A gateway-made error in the client's dialect.
pub fn error_response(e: &GatewayError, dialect: Dialect) -> Response<GatewayBody> {
    let body = e.body();
    let bytes = match dialect {
        Dialect::OpenAi | Dialect::Bedrock => body.to_json(),
        _ => {
            let kind = match body.kind {
                _ if e.status() == http::StatusCode::NOT_FOUND => "not_found_error",
                _ if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
                ErrorKind::InvalidRequest => "invalid_request_error",
                ErrorKind::Authentication => "authentication_error",
                ErrorKind::Permission => "permission_error",
                ErrorKind::RateLimit => "rate_limit_error",
                ErrorKind::Upstream | ErrorKind::Timeout | ErrorKind::Internal => "api_error",
            };
            let err = StreamError {
                status: Some(e.status().as_u16()),
                kind: kind.to_string(),
                message: body.message,
            };
            translate::encode_error(dialect, e.status().as_u16(), &err)
        }
    };
    let mut r = Response::new(GatewayBody::full(bytes));
    *r.status_mut() = e.status();
    r.headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    if let Some(secs) = e.retry_after() {
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

fn json_response(body: Bytes) -> Response<GatewayBody> {
    let mut r = Response::new(GatewayBody::full(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    r
}

enum Endpoint {
    Model(Ingress),
    Models,
    Health,
}

/// `/v1beta/models/{model}:generateContent` and `:streamGenerateContent`.
fn gemini_ingress(path: &str) -> Option<Ingress> {
    let rest = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, verb) = rest.rsplit_once(':')?;
    let stream = match verb {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    let model = percent_decode(model)?;
    if model.is_empty() {
        return None;
    }
    Some(Ingress {
        dialect: Dialect::Gemini,
        api: Api::ChatCompletions,
        path_model: Some(model),
        path_stream: stream,
        anthropic_headers: Vec::new(),
        request_id: None,
        trace_headers: Vec::new(),
    })
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn endpoint_for(path: &str) -> Option<Endpoint> {
    if let Some(i) = gemini_ingress(path) {
        return Some(Endpoint::Model(i));
    }
    let p = path.strip_prefix("/v1").unwrap_or(path);
    Some(match p {
        "/chat/completions" => Endpoint::Model(Ingress::openai(Api::ChatCompletions)),
        "/completions" => Endpoint::Model(Ingress::openai(Api::Completions)),
        "/embeddings" => Endpoint::Model(Ingress::openai(Api::Embeddings)),
        "/messages" => Endpoint::Model(Ingress {
            dialect: Dialect::Anthropic,
            api: Api::ChatCompletions,
            path_model: None,
            path_stream: false,
            anthropic_headers: Vec::new(),
            request_id: None,
            trace_headers: Vec::new(),
        }),
        "/models" => Endpoint::Models,
        _ if path == "/health" || path == "/healthz" => Endpoint::Health,
        _ => return None,
    })
}

async fn dispatch(
    rt: &Runtime,
    req: Request<Incoming>,
    request_id: &HeaderValue,
    rec: &mut RequestRecord,
) -> Result<Response<GatewayBody>, GatewayError> {
    let method = req.method();
    let Some(endpoint) = endpoint_for(req.uri().path()) else {
        return Err(GatewayError::UnknownEndpoint {
            method: method.to_string(),
            path: req.uri().path().to_string(),
        });
    };
    let not_allowed = |allowed| GatewayError::MethodNotAllowed {
        method: method.to_string(),
        path: req.uri().path().to_string(),
        allowed,
    };
    match endpoint {
        Endpoint::Health => {
            if method != Method::GET && method != Method::HEAD {
                return Err(not_allowed("GET"));
            }
            Ok(json_response(Bytes::from_static(b"{\"status\":\"ok\"}")))
        }
        Endpoint::Models => {
            if method != Method::GET {
                return Err(not_allowed("GET"));
            }
            Ok(json_response(rt.models_body.clone()))
        }
        Endpoint::Model(mut ingress) => {
            if method != Method::POST {
                return Err(not_allowed("POST"));
            }
            let sse = req
                .uri()
                .query()
                .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
            if ingress.dialect == Dialect::Gemini && ingress.path_stream && !sse {
                return Err(GatewayError::BadRequest(RequestError::InvalidField {
                    field: "alt",
                    expected: "`sse`: this gateway streams Gemini answers as server-sent events; call :streamGenerateContent?alt=sse (as the Google SDKs do)",
                }));
            }
            ingress.request_id = Some(request_id.clone());
            // The client's trace context goes on: its `traceparent` when the
            // gateway does not trace (else the attempt's own replaces it),
            // its `tracestate` always (W3C: vendors pass it on).
            for name in [&TRACEPARENT, &TRACESTATE] {
                if let Some(v) = req.headers().get(name)
                    && (rec.trace.is_none() || name == TRACESTATE)
                {
                    ingress.trace_headers.push((name.clone(), v.clone()));
                }
            }
            if ingress.dialect == Dialect::Anthropic {
                for name in ["anthropic-version", "anthropic-beta"] {
                    if let Some(v) = req.headers().get(name) {
                        ingress
                            .anthropic_headers
                            .push((http::HeaderName::from_static(name), v.clone()));
                    }
                }
            }
            let reading = Instant::now();
            let body = read_body(req, rt.max_body_bytes).await;
            rec.body_read = reading.elapsed();
            let body = body?;
            // Kept (shared, not copied) for token estimates and body logs.
            if rt.telemetry.enabled() {
                rec.request_body = Some(body.clone());
            }
            proxy::forward(rt, &ingress, body, rec).await
        }
    }
}

/// Read the whole request body, refusing more than `limit` bytes (early,
/// from `content-length`, when the client sends one).
async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, GatewayError> {
    if let Some(len) = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(GatewayError::BodyTooLarge { limit });
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.is::<http_body_util::LengthLimitError>() {
                Err(GatewayError::BodyTooLarge { limit })
            } else {
                Err(GatewayError::BodyRead(e.to_string()))
            }
        }
    }
}
