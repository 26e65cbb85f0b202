//! Forwarding one request: pick the provider and credential, send within
//! the provider's deadlines, retry with credentials not yet tried, fall
//! back along the route's targets, and turn the answer into the client's
//! response. See `docs/resilience.md`.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use switchyard_protocol::canonical::{ChatRequest, ConvertError};
use switchyard_protocol::{RequestView, Rewrite};
use switchyard_providers::{Api, Dialect};
use switchyard_routing::{Transition, Tried};
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::body::APPLICATION_JSON;
use crate::body::GatewayBody;
use crate::error::GatewayError;
use crate::relay::{SseRelay, TranslateRelay};
use crate::runtime::{Fallback, Runtime};
use crate::telemetry::{AttemptRecord, FailureKind, RequestRecord, trace};
use crate::translate::{self, Fill};
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
// Short-lived and moved once: boxing the response would cost an allocation
// per request to save a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
enum HopResult {
    Served(Response<GatewayBody>),
    /// Every credential is out of rotation: no network attempt was made.
    AllDown,
    Failed(Failure),
}

/// Where a request came in: its dialect and API, and for Gemini the model
/// and stream flag its URL carries.
#[derive(Clone, Debug)]
pub struct Ingress {
    pub dialect: Dialect,
    pub api: Api,
    pub path_model: Option<String>,
    pub path_stream: bool,
    /// Claude clients' `anthropic-version` and `anthropic-beta`, forwarded
    /// to Anthropic-dialect providers.
    pub anthropic_headers: Vec<(HeaderName, HeaderValue)>,
    /// Sent upstream as `x-request-id`.
    pub request_id: Option<HeaderValue>,
    /// The client's `tracestate`, and its `traceparent` when the gateway
    /// does not trace the request itself: passed on untouched.
    pub trace_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Ingress {
    pub fn openai(api: Api) -> Self {
        Ingress {
            dialect: Dialect::OpenAi,
            api,
            path_model: None,
            path_stream: false,
            anthropic_headers: Vec::new(),
            request_id: None,
            trace_headers: Vec::new(),
        }
    }
}

static ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");
static DEFAULT_ANTHROPIC_VERSION: HeaderValue =
    HeaderValue::from_static(crate::upstream::DEFAULT_ANTHROPIC_VERSION);

/// What one request carries from hop to hop.
struct Ask<'a> {
    ingress: &'a Ingress,
    body: &'a Bytes,
    /// A borrowed view for splicing (OpenAI and Anthropic bodies).
    view: Option<&'a RequestView<'a>>,
    /// The canonical request, decoded once, only if some hop needs it.
    canonical: OnceLock<Result<ChatRequest, ConvertError>>,
    model: &'a str,
    stream: bool,
    /// The client asked for OpenAI's usage chunk itself.
    include_usage: bool,
    start: Instant,
}

impl Ask<'_> {
    fn canonical(&self) -> Result<&ChatRequest, ConvertError> {
        self.canonical
            .get_or_init(|| {
                translate::decode_request(
                    self.ingress.dialect,
                    self.body,
                    self.ingress.path_model.as_deref().unwrap_or(self.model),
                    self.ingress.path_stream,
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The body a provider speaking `target` gets, asking for `model`.
    fn body_for(&self, up: &Upstream, model: &str) -> Result<Bytes, ConvertError> {
        let client = self.ingress.dialect;
        let target = up.dialect_for(client);
        if target == client && up.original {
            // `protocol: original`: the client's bytes, untouched.
            return Ok(self.body.clone());
        }
        if target == client {
            if let Some(view) = self.view {
                // Same dialect: splice, never re-serialise.
                let rewrite = Rewrite {
                    model: Some(model),
                    include_usage: target == Dialect::OpenAi && self.stream && !self.include_usage,
                };
                return Ok(match rewrite.apply(self.body, view) {
                    Some(v) => Bytes::from(v),
                    None => self.body.clone(),
                });
            }
            // Gemini: the model is in the URL; the body is unchanged.
            return Ok(self.body.clone());
        }
        let mut req = self.canonical()?.clone();
        req.model = model.to_string();
        req.stream = self.stream;
        translate::encode_request(target, &req).map(Bytes::from)
    }
}

/// Forward a model API request (chat, completions, embeddings, messages).
pub async fn forward(
    rt: &Runtime,
    ingress: &Ingress,
    body: Bytes,
    rec: &mut RequestRecord,
) -> Result<Response<GatewayBody>, GatewayError> {
    let start = Instant::now();
    let api = ingress.api;
    let parsed;
    let (view, model, stream, include_usage): (Option<&RequestView<'_>>, &str, bool, bool) =
        match &ingress.path_model {
            Some(m) => {
                // Gemini: check the body now, so a bad one is a clean 400.
                translate::decode_request(ingress.dialect, &body, m, ingress.path_stream)
                    .map_err(GatewayError::Translation)?;
                (None, m.as_str(), ingress.path_stream, false)
            }
            None => {
                parsed = RequestView::parse(&body)?;
                (
                    Some(&parsed),
                    &*parsed.model,
                    parsed.stream,
                    parsed.include_usage,
                )
            }
        };
    rec.api = Some(api);
    rec.requested_model = Some(model.into());
    rec.stream = stream;
    let Some(target) = rt.routes.find(model) else {
        return Err(GatewayError::NoRoute {
            model: model.to_string(),
            served: rt.served_summary.clone(),
        });
    };
    let primary = &target.upstream;
    rec.route = Some(target.name.clone());
    rec.primary_provider = Some(primary.id.clone());
    let serves = |up: &Upstream| {
        let d = up.dialect_for(ingress.dialect);
        up.endpoint.kind.supports(api) && (d == ingress.dialect || api == Api::ChatCompletions)
    };
    if !serves(primary) && target.fallback.is_none() {
        return Err(GatewayError::UnsupportedApi {
            provider: primary.id.to_string(),
            kind: primary.endpoint.kind.name,
            api: api.name(),
        });
    }
    let ask = Ask {
        ingress,
        body: &body,
        view,
        canonical: OnceLock::new(),
        model,
        stream,
        include_usage,
        start,
    };

    let hops = 1 + target.fallback.as_ref().map_or(0, |f| f.targets.len());
    let mut last: Option<Failure> = None;
    let mut all_down: Vec<String> = Vec::new();
    let mut retry_after: Option<Duration> = None;
    let primary_model = primary.mapper.map(model);
    for hop in 0..hops {
        let (up, hop_model): (&Arc<Upstream>, Cow<'_, str>) = match hop {
            0 => (primary, primary_model.clone()),
            _ => {
                let Some(fb) = &target.fallback else { break };
                if let Some(f) = &last
                    && !allows_fallback(fb, f)
                {
                    break;
                }
                let t = &fb.targets[hop - 1];
                let m = match &t.model {
                    Some(m) => Cow::Borrowed(m.as_str()),
                    None => t.upstream.mapper.map(model),
                };
                (&t.upstream, m)
            }
        };
        if !serves(up) {
            continue;
        }
        let upstream_body = match ask.body_for(up, &hop_model) {
            Ok(b) => b,
            // The request cannot be expressed for this provider: a clear
            // 400 if it is the route's own, else try the next target.
            Err(e) if hop == 0 => return Err(GatewayError::Translation(e)),
            Err(e) => {
                tracing::debug!(provider = %up.id, error = %e, "fallback target cannot take this request");
                continue;
            }
        };
        match try_provider(rt, up, &hop_model, upstream_body, &ask, hop as u8, rec).await {
            HopResult::Served(mut resp) => {
                if hop > 0 {
                    let from = format!("{}/{}", primary.id, primary_model);
                    if let Ok(v) = HeaderValue::from_str(&from) {
                        resp.headers_mut().insert(X_FALLBACK_FROM.clone(), v);
                    }
                    rec.fallback_from = Some(from);
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
async fn try_provider(
    rt: &Runtime,
    up: &Arc<Upstream>,
    model: &str,
    body: Bytes,
    ask: &Ask<'_>,
    hop: u8,
    rec: &mut RequestRecord,
) -> HopResult {
    let uri = match ask.ingress.api {
        Api::ChatCompletions if up.dialect_for(ask.ingress.dialect) != up.endpoint.dialect() => {
            // The provider's own Anthropic-compatible endpoint.
            up.endpoint
                .messages_uri()
                .ok_or_else(|| "no Anthropic-compatible endpoint".to_string())
        }
        Api::ChatCompletions => up
            .endpoint
            .chat_uri(model, ask.stream)
            .map_err(|e| e.to_string()),
        api => up.endpoint.uri(api, model).map_err(|e| e.to_string()),
    };
    let uri = match uri {
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
    let target = up.dialect_for(ask.ingress.dialect);
    let fill = (target != ask.ingress.dialect).then(|| Fill {
        model: model.to_string(),
        client: ask.ingress.dialect,
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
        let result = attempt(rt, call, ask).await;
        if let Some(a) = rec.attempts.last_mut() {
            a.ended = Some(Instant::now());
            match &result {
                Ok(resp) => a.status = Some(resp.status().as_u16()),
                Err(Failure::Status { status, .. }) => {
                    a.status = Some(status.as_u16());
                    a.failure = Some((FailureKind::Status, format!("HTTP {}", status.as_u16())));
                }
                Err(Failure::Error(e)) => a.failure = Some((failure_kind(e), e.to_string())),
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

/// Largest non-streamed answer read whole for translation.
const MAX_TRANSLATED_BODY: usize = 64 * 1024 * 1024;

/// One upstream call with one credential. `Ok` only for a 2xx answer that
/// can be relayed; for a stream, only once its first bytes have arrived,
/// so a failure before then can still be retried.
async fn attempt(
    rt: &Runtime,
    call: Call<'_>,
    ask: &Ask<'_>,
) -> Result<Response<GatewayBody>, Failure> {
    let up = call.up;
    let target = up.dialect_for(ask.ingress.dialect);
    let client = ask.ingress.dialect;
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
    let broken = |cause: String| {
        Failure::Error(GatewayError::UpstreamBroken {
            provider: up.id.to_string(),
            origin: up.endpoint.origin(),
            cause,
        })
    };

    let mut req = match up
        .prepared_request(&rt.client, call.idx, call.uri, call.body)
        .await
    {
        Ok(r) => r,
        Err(cause) => {
            return Err(Failure::Error(GatewayError::UpstreamConnect {
                provider: up.id.to_string(),
                origin: up.endpoint.origin(),
                cause: format!("no credential could be obtained: {cause}"),
            }));
        }
    };
    if let Some(id) = &ask.ingress.request_id {
        req.headers_mut()
            .insert(crate::handler::X_REQUEST_ID.clone(), id.clone());
    }
    for (k, v) in &ask.ingress.trace_headers {
        req.headers_mut().insert(k.clone(), v.clone());
    }
    if let Some(tp) = call.traceparent {
        req.headers_mut().insert(trace::TRACEPARENT.clone(), tp);
    }
    if target == Dialect::Anthropic {
        let h = req.headers_mut();
        for (k, v) in &ask.ingress.anthropic_headers {
            // The provider's configured version (claudeVersion) wins.
            if !(k == ANTHROPIC_VERSION && h.contains_key(&ANTHROPIC_VERSION)) {
                h.insert(k.clone(), v.clone());
            }
        }
        if !h.contains_key(&ANTHROPIC_VERSION) {
            h.insert(ANTHROPIC_VERSION.clone(), DEFAULT_ANTHROPIC_VERSION.clone());
        }
    }
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
    if let Some(m) = call.model_header {
        headers.insert(X_MODEL.clone(), m);
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
    if ask.stream && is_stream {
        // Wait for the first bytes before answering the client: a provider
        // that never starts is a clean 504 (or a retry), not a hung stream.
        let first = match first_frame(&mut incoming, first_byte_deadline).await {
            Ok(f) => f,
            Err(FirstFrame::Timeout) => return Err(timeout_err()),
            Err(FirstFrame::Broken(cause)) => return Err(broken(cause)),
        };
        headers.remove(CONTENT_LENGTH);
        let body = match call.fill {
            None => GatewayBody::Sse {
                relay: SseRelay::new(
                    incoming,
                    first,
                    client == Dialect::OpenAi && !ask.include_usage,
                    up.id.clone(),
                    client,
                ),
            },
            Some(fill) => {
                headers.insert(CONTENT_TYPE, TEXT_EVENT_STREAM.clone());
                GatewayBody::Translate {
                    relay: TranslateRelay::new(
                        incoming,
                        first,
                        translate::stream_decoder(target),
                        translate::stream_encoder(client, ask.include_usage),
                        fill.clone(),
                        up.id.clone(),
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
        Err(_) => {
            return Err(Failure::Error(GatewayError::UpstreamTimeout {
                provider: up.id.to_string(),
                after: up.timeout,
                which: "timeout",
            }));
        }
        Ok(Err(e)) => return Err(broken(e.to_string())),
        Ok(Ok(c)) => c.to_bytes(),
    };
    let body = translate::translate_response(target, fill, &raw)
        .map_err(|e| broken(format!("{UNTRANSLATABLE} {} response ({e})", target.name())))?;
    headers.remove(CONTENT_LENGTH);
    headers.insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    Ok(respond(status, headers, GatewayBody::full(body)))
}

static TEXT_EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

fn respond(status: StatusCode, headers: HeaderMap, body: GatewayBody) -> Response<GatewayBody> {
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

/// How an upstream answer that cannot be translated is described.
const UNTRANSLATABLE: &str = "its answer is not a valid";

/// The metrics' kind of a failed attempt.
fn failure_kind(e: &GatewayError) -> FailureKind {
    match e {
        GatewayError::UpstreamConnect { .. } => FailureKind::Connect,
        GatewayError::UpstreamTimeout { .. } => FailureKind::Timeout,
        GatewayError::UpstreamBroken { cause, .. } if cause.starts_with(UNTRANSLATABLE) => {
            FailureKind::Translation
        }
        _ => FailureKind::Broken,
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
