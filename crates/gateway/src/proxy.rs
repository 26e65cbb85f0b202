//! Forwarding one request: pick the provider and credential, send within
//! the provider's deadlines, retry with credentials not yet tried, fall
//! back along the route's targets, and turn the answer into the client's
//! response. See `docs/resilience.md`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use switchyard_protocol::{RequestView, Rewrite};
use switchyard_providers::Api;
use switchyard_routing::{Transition, Tried};
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::body::GatewayBody;
use crate::error::GatewayError;
use crate::relay::SseRelay;
use crate::runtime::{Fallback, Runtime};
use crate::upstream::Upstream;

pub static X_PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
pub static X_MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
pub static X_FALLBACK_FROM: HeaderName = HeaderName::from_static("x-switchyard-fallback-from");

/// Upstream error bodies are read (to decide, and to relay if nothing
/// better comes) up to this size.
const MAX_ERROR_BODY: usize = 1024 * 1024;

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
];

/// Why an attempt did not serve the request.
enum Failure {
    /// The provider answered with a non-2xx status; kept to relay as is if
    /// nothing else serves the request.
    Status {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// No usable answer: connect error, timeout, broken connection.
    Error(GatewayError),
}

impl Failure {
    fn reason(&self) -> String {
        match self {
            Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Failure::Error(e) => e.to_string(),
        }
    }
}

/// What one provider (one hop) did with the request.
enum HopResult {
    Served(Response<GatewayBody>),
    /// Every credential is out of rotation: no network attempt was made.
    AllDown,
    Failed(Failure),
}

/// What one request carries from hop to hop.
struct Ask<'a> {
    api: Api,
    body: &'a Bytes,
    view: &'a RequestView<'a>,
    inject_usage: bool,
    start: Instant,
}

/// Forward a model API request (chat, completions, embeddings).
pub async fn forward(
    rt: &Runtime,
    api: Api,
    body: Bytes,
) -> Result<Response<GatewayBody>, GatewayError> {
    let start = Instant::now();
    let view = RequestView::parse(&body)?;
    let Some(target) = rt.routes.find(&view.model) else {
        return Err(GatewayError::NoRoute {
            model: view.model.into_owned(),
            served: rt.served_summary.clone(),
        });
    };
    let primary = &target.upstream;
    if !primary.endpoint.kind.supports(api) && target.fallback.is_none() {
        return Err(GatewayError::UnsupportedApi {
            provider: primary.id.to_string(),
            kind: primary.endpoint.kind.name,
            api: api.name(),
        });
    }
    let ask = Ask {
        api,
        body: &body,
        view: &view,
        // Ask for the usage chunk so streamed usage can be counted; the
        // relay hides it again if the client did not ask for it.
        inject_usage: view.stream && api == Api::ChatCompletions && !view.include_usage,
        start,
    };

    let hops = 1 + target.fallback.as_ref().map_or(0, |f| f.targets.len());
    let mut last: Option<Failure> = None;
    let mut all_down: Vec<String> = Vec::new();
    let mut retry_after: Option<Duration> = None;
    let primary_model = primary.mapper.map(&view.model);
    for hop in 0..hops {
        let (up, model): (&Arc<Upstream>, Cow<'_, str>) = match hop {
            0 => (primary, primary_model.clone()),
            _ => {
                let Some(fb) = &target.fallback else { break };
                if let Some(f) = &last
                    && !allows_fallback(fb, f)
                {
                    break;
                }
                let t = &fb.targets[hop - 1];
                let model = match &t.model {
                    Some(m) => Cow::Borrowed(m.as_str()),
                    None => t.upstream.mapper.map(&view.model),
                };
                (&t.upstream, model)
            }
        };
        if !up.endpoint.kind.supports(api) {
            continue;
        }
        match try_provider(rt, up, &model, &ask).await {
            HopResult::Served(mut resp) => {
                let h = resp.headers_mut();
                if hop > 0
                    && let Ok(from) =
                        HeaderValue::from_str(&format!("{}/{}", primary.id, primary_model))
                {
                    h.insert(X_FALLBACK_FROM.clone(), from);
                }
                return Ok(resp);
            }
            HopResult::AllDown => {
                let now = Instant::now();
                let wait = up
                    .pool
                    .earliest_retry(now)
                    .unwrap_or(Duration::from_secs(1));
                retry_after = Some(retry_after.map_or(wait, |r| r.min(wait)));
                all_down.push(format!(
                    "provider `{}` has {} of {} credentials out of rotation",
                    up.id,
                    up.pool.out_count(now),
                    up.pool.len()
                ));
            }
            HopResult::Failed(f) => last = Some(f),
        }
    }

    match last {
        Some(Failure::Status {
            status,
            headers,
            body,
        }) => {
            let mut out = Response::new(GatewayBody::full(body));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        }
        Some(Failure::Error(e)) => Err(e),
        None => Err(GatewayError::NoCredential {
            detail: format!("No usable credential: {}.", all_down.join("; ")),
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
        }),
    }
}

fn allows_fallback(fb: &Fallback, f: &Failure) -> bool {
    match f {
        Failure::Status { status, .. } => fb.on_status.contains(status.as_u16()),
        // Connect errors and timeouts always move on.
        Failure::Error(e) => e.is_upstream_failure(),
    }
}

/// Attempts on one provider: the first credential, then retries with
/// credentials not yet tried, while the retry policy allows.
async fn try_provider(rt: &Runtime, up: &Arc<Upstream>, model: &str, ask: &Ask<'_>) -> HopResult {
    let rewrite = Rewrite {
        model: Some(model),
        include_usage: ask.inject_usage,
    };
    let body = match rewrite.apply(ask.body, ask.view) {
        Some(v) => Bytes::from(v),
        None => ask.body.clone(),
    };
    let uri = match up.endpoint.uri(ask.api, model) {
        Ok(u) => u,
        Err(e) => {
            return HopResult::Failed(Failure::Error(GatewayError::Internal(format!(
                "bad upstream URI: {e}"
            ))));
        }
    };
    let model_header = HeaderValue::from_str(model).ok();
    let (max_attempts, retry_deadline) = match &up.retry {
        Some(r) => (r.max_retries.saturating_add(1), ask.start + r.retry_timeout),
        None => (1, ask.start),
    };
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
        let result = attempt(
            rt,
            up,
            idx,
            uri.clone(),
            body.clone(),
            ask,
            model_header.clone(),
        )
        .await;
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
        if let (Some(policy), Some(h)) = (up.pool.policy(), health) {
            let counts = match &failure {
                Failure::Status { status, .. } => policy.failover_on.contains(status.as_u16()),
                Failure::Error(e) => e.is_upstream_failure(),
            };
            if counts
                && h.record_failure(policy, &failure.reason(), Instant::now())
                    == Some(Transition::WentOut)
            {
                tracing::warn!(provider = %up.id, credential = up.masked(idx), reason = %failure.reason(), "credential out of rotation");
                rt.checker.spawn(up, idx);
            }
        }
        let retryable = match (&up.retry, &failure) {
            (Some(r), Failure::Status { status, .. }) => r.on_status.contains(status.as_u16()),
            (Some(_), Failure::Error(e)) => e.is_upstream_failure(),
            (None, _) => false,
        };
        if !retryable || attempts >= max_attempts || Instant::now() >= retry_deadline {
            return HopResult::Failed(failure);
        }
        last = Some(failure);
    }
}

/// One upstream call with one credential. `Ok` only for a 2xx answer that
/// can be relayed; for a stream, only once its first bytes have arrived,
/// so a failure before then can still be retried.
async fn attempt(
    rt: &Runtime,
    up: &Arc<Upstream>,
    idx: usize,
    uri: Uri,
    body: Bytes,
    ask: &Ask<'_>,
    model_header: Option<HeaderValue>,
) -> Result<Response<GatewayBody>, Failure> {
    let start = Instant::now();
    let deadline = start + up.timeout;
    let first_byte_deadline = start + up.first_byte_timeout;
    let which = if up.first_byte_timeout < up.timeout {
        "firstByteTimeout"
    } else {
        "timeout"
    };
    let timeout_err = || {
        Failure::Error(GatewayError::UpstreamTimeout {
            provider: up.id.to_string(),
            after: up.first_byte_timeout,
            which,
        })
    };

    let req = up.request(idx, uri, body);
    let resp = match timeout_at(first_byte_deadline, rt.client.request(req)).await {
        Err(_) => return Err(timeout_err()),
        Ok(Err(e)) => return Err(Failure::Error(classify(up, &e))),
        Ok(Ok(r)) => r,
    };
    let (parts, mut incoming) = resp.into_parts();
    let status = parts.status;
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.insert(X_PROVIDER.clone(), up.id_header.clone());
    if let Some(m) = model_header {
        headers.insert(X_MODEL.clone(), m);
    }

    if !status.is_success() {
        // Read the (small) error body so the connection is free and the
        // answer can be relayed if no other attempt does better.
        let body =
            match timeout_at(deadline, Limited::new(incoming, MAX_ERROR_BODY).collect()).await {
                Ok(Ok(c)) => c.to_bytes(),
                _ => Bytes::new(),
            };
        headers.remove(CONTENT_LENGTH);
        return Err(Failure::Status {
            status,
            headers,
            body,
        });
    }

    let is_sse = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let body = if ask.view.stream && is_sse {
        // Wait for the first bytes before answering the client: a provider
        // that never starts is a clean 504 (or a retry), not a hung stream.
        let first = match first_frame(&mut incoming, first_byte_deadline).await {
            Ok(f) => f,
            Err(FirstFrame::Timeout) => return Err(timeout_err()),
            Err(FirstFrame::Broken(cause)) => {
                return Err(Failure::Error(GatewayError::UpstreamBroken {
                    provider: up.id.to_string(),
                    origin: up.endpoint.origin(),
                    cause,
                }));
            }
        };
        headers.remove(CONTENT_LENGTH);
        GatewayBody::Sse {
            relay: SseRelay::new(incoming, first, ask.inject_usage, up.id.clone()),
        }
    } else {
        GatewayBody::Passthrough {
            inner: incoming,
            deadline: sleep_until(deadline),
            timeout_ms: up.timeout.as_millis(),
        }
    };
    let mut out = Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

enum FirstFrame {
    Timeout,
    Broken(String),
}

async fn first_frame(
    incoming: &mut Incoming,
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

/// Turn a client error into what the user should hear.
fn classify(up: &Upstream, e: &hyper_util::client::legacy::Error) -> GatewayError {
    use std::error::Error as _;
    let mut cause = String::new();
    let mut src = e.source();
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    if cause.is_empty() {
        cause = e.to_string();
    }
    if e.is_connect() {
        GatewayError::UpstreamConnect {
            provider: up.id.to_string(),
            origin: up.endpoint.origin(),
            cause,
        }
    } else {
        GatewayError::UpstreamBroken {
            provider: up.id.to_string(),
            origin: up.endpoint.origin(),
            cause,
        }
    }
}
