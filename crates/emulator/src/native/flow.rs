//! The request flow shared by the native dialects: credential, recording,
//! latency, credential behaviours, validation, then the dialect's rendering.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::ALLOW;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

// `plan` through the re-export, which is otherwise used only by tests.
use super::route::{Dialect, Route, query_param};
use super::{Request, full, plan};
use crate::body::EmuBody;
use crate::record::Record;
use crate::server::header_str;
use crate::wire;
use crate::{Behaviour, Inner, anthropic, bedrock, gemini};

/// The credential for a native request: the usual headers (see
/// [`wire::find_credential`]), then, for Gemini only, the `key` query
/// parameter (reported as `?key`).
fn credential<'h>(
    headers: &'h HeaderMap,
    query: Option<&'h str>,
    dialect: Dialect,
) -> Option<(Cow<'h, str>, &'static str)> {
    if let Some((t, src)) = wire::find_credential(|n| header_str(headers, n)) {
        return Some((Cow::Borrowed(t), src));
    }
    if dialect == Dialect::Gemini {
        let key = query_param(query, "key").filter(|v| !v.is_empty())?;
        return Some((wire::percent_decode(key), "?key"));
    }
    None
}

/// What a dialect failure is about; each dialect renders it in its shape.
pub(crate) enum Failure<'t> {
    /// The token (may be empty) is not accepted.
    Unauthorized(&'t str),
    RateLimited,
    Unavailable,
    /// 400: bad JSON or a missing field.
    Invalid(String),
    /// 405 (an `allow: POST` header is added).
    Method(String),
}

/// Data shared by every rendering of one answer.
pub(crate) struct Ctx<'a> {
    pub id: &'a [u8; 16],
    pub model: &'a str,
    pub prompt_tokens: u64,
    /// Number of text pieces in a stream (at least 1).
    pub chunks: usize,
    pub delay: Duration,
    pub cut: bool,
    /// Report token usage (`false` for [`Behaviour::NoUsage`]).
    pub usage: bool,
    /// Time spent answering, at least 1 (Bedrock `metrics.latencyMs`).
    pub latency_ms: u64,
}

pub(crate) async fn handle(
    inner: &Inner,
    parts: &Parts,
    bytes: &Bytes,
    route: &Route<'_>,
    id: &[u8; 16],
) -> Response<EmuBody> {
    let started = Instant::now();
    let dialect = route.dialect;
    let parsed = match dialect {
        Dialect::Anthropic => anthropic::parse(bytes),
        Dialect::Gemini => gemini::parse(bytes),
        Dialect::Bedrock => bedrock::parse(bytes),
    };
    let body_model = parsed.as_ref().ok().and_then(|r| r.model.as_deref());
    let model = route.model.as_deref().or(body_model);
    let stream = match dialect {
        Dialect::Anthropic => parsed.as_ref().is_ok_and(|r| r.stream),
        Dialect::Gemini | Dialect::Bedrock => route.stream,
    };
    let headers = &parts.headers;
    let cred = credential(headers, parts.uri.query(), dialect);
    let cred_ref = cred.as_ref().map(|(t, src)| (&**t, *src));
    inner.record(Record::new(
        &parts.method,
        &parts.uri,
        headers,
        model,
        stream,
        cred_ref,
    ));
    if !inner.cfg.latency.is_zero() {
        tokio::time::sleep(inner.cfg.latency).await;
    }
    let token = cred_ref.map_or("", |(t, _)| t);
    let mut resp = answer(
        inner, parts, route, &parsed, model, stream, token, id, started,
    )
    .await;
    match dialect {
        Dialect::Anthropic => anthropic::decorate(&mut resp, id),
        Dialect::Gemini => {}
        Dialect::Bedrock => bedrock::decorate(&mut resp, id),
    }
    resp
}

fn failure(dialect: Dialect, f: Failure<'_>) -> Response<EmuBody> {
    let method = matches!(f, Failure::Method(_));
    let mut r = match dialect {
        Dialect::Anthropic => anthropic::error(f),
        Dialect::Gemini => gemini::error(f),
        Dialect::Bedrock => bedrock::error(f),
    };
    if method {
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
    }
    r
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    inner: &Inner,
    parts: &Parts,
    route: &Route<'_>,
    parsed: &Result<Request<'_>, serde_json::Error>,
    model: Option<&str>,
    stream: bool,
    token: &str,
    id: &[u8; 16],
    started: Instant,
) -> Response<EmuBody> {
    let dialect = route.dialect;
    if parts.method != Method::POST {
        let msg = format!(
            "Method {} not allowed for {}; use POST.",
            parts.method,
            parts.uri.path()
        );
        return failure(dialect, Failure::Method(msg));
    }
    let pre = match dialect {
        Dialect::Anthropic => anthropic::precheck(&parts.headers),
        Dialect::Gemini => None,
        Dialect::Bedrock => bedrock::precheck(&parts.headers),
    };
    if let Some(r) = pre {
        return r;
    }

    let (mut cut, mut usage) = (false, true);
    match inner.behaviour(token) {
        Behaviour::Ok => {}
        Behaviour::NoUsage => usage = false,
        Behaviour::Unauthorized => return failure(dialect, Failure::Unauthorized(token)),
        Behaviour::RateLimited => return failure(dialect, Failure::RateLimited),
        Behaviour::Unavailable => return failure(dialect, Failure::Unavailable),
        Behaviour::Slow(d) => tokio::time::sleep(d).await,
        Behaviour::Hang => {
            // Held until the client goes away (hyper then drops this future).
            std::future::pending::<()>().await;
        }
        Behaviour::Cut => cut = true,
    }

    let req = match parsed {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("The request body is not valid JSON: {e}");
            return failure(dialect, Failure::Invalid(msg));
        }
    };
    if route.count {
        // Counting takes no `max_tokens`; the count is the prompt's, as
        // in the message usage.
        if let Some(msg) = req.missing.filter(|m| !m.starts_with("max_tokens")) {
            return failure(dialect, Failure::Invalid(msg.to_owned()));
        }
        let body = format!("{{\"input_tokens\":{}}}", req.convo.prompt_tokens);
        return full(
            StatusCode::OK,
            crate::server::APPLICATION_JSON,
            Bytes::from(body),
            cut,
        );
    }
    if let Some(msg) = req.missing {
        return failure(dialect, Failure::Invalid(msg.to_owned()));
    }
    let reply = plan(&req.convo);
    let ctx = Ctx {
        id,
        model: model.unwrap_or(""),
        prompt_tokens: req.convo.prompt_tokens,
        chunks: inner.cfg.stream_chunks.max(1),
        delay: inner.cfg.chunk_delay,
        cut,
        usage,
        latency_ms: u64::try_from(started.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1),
    };
    match dialect {
        Dialect::Anthropic => anthropic::render(&ctx, &reply, stream),
        Dialect::Gemini => gemini::render(&ctx, &reply, stream, route.sse),
        Dialect::Bedrock => bedrock::render(&ctx, &reply, stream),
    }
}
