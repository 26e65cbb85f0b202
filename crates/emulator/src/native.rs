//! Native provider dialects (Anthropic Messages, Gemini `generateContent`,
//! Bedrock Converse): routing, the shared request flow (recording, latency,
//! credential behaviours) and the scripted reply (text or tool call).
//!
//! Each dialect module parses its request into a [`Request`] (a dialect-free
//! summary of the conversation) and renders the [`Reply`] in its own wire
//! format.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, HeaderName};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::body::EmuBody;
use crate::record::Record;
use crate::server::{NO_CACHE, header_str, respond};
use crate::wire::{self, Answer, Out};
use crate::{Behaviour, Inner, anthropic, bedrock, gemini};

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Anthropic,
    Gemini,
    Bedrock,
}

/// A request for a native dialect, as found in the URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route<'p> {
    pub dialect: Dialect,
    /// The model named in the URL (Gemini, Bedrock), percent-decoded.
    pub model: Option<Cow<'p, str>>,
    /// The URL asks for a stream (`:streamGenerateContent`, `/converse-stream`).
    pub stream: bool,
    /// Gemini `alt=sse` (SSE instead of a streamed JSON array).
    pub sse: bool,
    /// Anthropic `/v1/messages/count_tokens`.
    pub count: bool,
}

/// Recognizes the native dialect paths (see the crate docs); `None` for the
/// OpenAI-compatible API.
pub(crate) fn classify<'p>(path: &'p str, query: Option<&str>) -> Option<Route<'p>> {
    let count = path.ends_with("/v1/messages/count_tokens");
    if count || path.ends_with("/v1/messages") {
        return Some(Route {
            dialect: Dialect::Anthropic,
            model: None,
            stream: false,
            sse: false,
            count,
        });
    }
    if let Some(route) = gemini_route(path, query) {
        return Some(route);
    }
    bedrock_route(path)
}

/// `.../models/{model}:generateContent` or `...:streamGenerateContent`.
fn gemini_route<'p>(path: &'p str, query: Option<&str>) -> Option<Route<'p>> {
    let (before, verb) = path.rsplit_once(':')?;
    let stream = match verb {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    const MARK: &str = "/models/";
    let i = before.rfind(MARK)?;
    let model = &before[i + MARK.len()..];
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let sse = query_param(query, "alt").is_some_and(|v| v == "sse");
    Some(Route {
        dialect: Dialect::Gemini,
        model: Some(wire::percent_decode(model)),
        stream,
        sse,
        count: false,
    })
}

/// `.../model/{modelId}/converse` or `.../model/{modelId}/converse-stream`.
fn bedrock_route(path: &str) -> Option<Route<'_>> {
    let (rest, stream) = if let Some(r) = path.strip_suffix("/converse-stream") {
        (r, true)
    } else {
        (path.strip_suffix("/converse")?, false)
    };
    let (prefix, id) = rest.rsplit_once('/')?;
    if id.is_empty() || !(prefix == "/model" || prefix.ends_with("/model")) {
        return None;
    }
    Some(Route {
        dialect: Dialect::Bedrock,
        model: Some(wire::percent_decode(id)),
        stream,
        sse: false,
        count: false,
    })
}

/// The raw (still encoded) value of `name` in a query string.
pub(crate) fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

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

// ---------------------------------------------------------------------------
// The request flow
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Response helpers
// ---------------------------------------------------------------------------

/// A complete JSON body (or half of it, then a dropped connection, for `cut-`).
pub(crate) fn full(
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
    cut: bool,
) -> Response<EmuBody> {
    let body = if cut {
        EmuBody::cut(body)
    } else {
        EmuBody::full(body)
    };
    respond(status, content_type, body)
}

/// Events (SSE events or binary frames) stored back to back in one buffer.
pub(crate) struct Frames {
    pub o: Out,
    pub ends: Vec<usize>,
}

impl Frames {
    pub(crate) fn with_capacity(bytes: usize, frames: usize) -> Self {
        Self {
            o: Out::with_capacity(bytes),
            ends: Vec::with_capacity(frames),
        }
    }

    /// Ends the current frame.
    pub(crate) fn end(&mut self) {
        self.ends.push(self.o.len());
    }

    /// A 200 streaming response; for `cut-` the connection is dropped after
    /// `cut_after` frames.
    pub(crate) fn respond(
        self,
        content_type: HeaderValue,
        ctx: &Ctx<'_>,
        cut_after: usize,
    ) -> Response<EmuBody> {
        let body = EmuBody::events(
            self.o.into_bytes(),
            self.ends,
            ctx.delay,
            ctx.cut.then_some(cut_after),
        );
        let mut r = respond(StatusCode::OK, content_type, body);
        r.headers_mut().insert(CACHE_CONTROL, NO_CACHE);
        r
    }
}

/// Inserts a header built at run time (ignored if not a valid value).
pub(crate) fn set_header(r: &mut Response<EmuBody>, name: HeaderName, value: &[u8]) {
    if let Ok(v) = HeaderValue::from_bytes(value) {
        r.headers_mut().insert(name, v);
    }
}

// ---------------------------------------------------------------------------
// The conversation summary
// ---------------------------------------------------------------------------

/// A dialect request reduced to what the emulator needs.
#[derive(Default)]
pub(crate) struct Request<'a> {
    /// The model in the body (Anthropic).
    pub model: Option<Cow<'a, str>>,
    /// `stream: true` in the body (Anthropic).
    pub stream: bool,
    /// A validation error (400) found while parsing.
    pub missing: Option<&'static str>,
    pub convo: Convo<'a>,
}

/// One message: its text parts joined with a space, and the text of its first
/// tool result, if any.
pub(crate) struct Turn<'a> {
    pub user: bool,
    pub text: Cow<'a, str>,
    pub tool_result: Option<Cow<'a, str>>,
}

/// The first declared tool.
pub(crate) struct ToolDecl<'a> {
    pub name: Cow<'a, str>,
    /// Its JSON schema (the `required` properties get sample values).
    pub schema: Option<&'a RawValue>,
}

#[derive(Default)]
pub(crate) struct Convo<'a> {
    pub prompt_tokens: u64,
    /// The last message has the user role.
    pub last_is_user: bool,
    /// The text of the last user message (or of the last message).
    pub echo: Cow<'a, str>,
    /// The first tool result of the last user message.
    pub tool_result: Option<Cow<'a, str>>,
    pub tool: Option<ToolDecl<'a>>,
    pub max_tokens: Option<u64>,
}

impl<'a> Convo<'a> {
    /// Prompt tokens are about (chars of system + messages)/4 + 4 per
    /// message, at least 1 (as for chat completions).
    pub(crate) fn new(
        turns: Vec<Turn<'a>>,
        system_chars: usize,
        tool: Option<ToolDecl<'a>>,
        max_tokens: Option<u64>,
    ) -> Self {
        let chars: usize = system_chars
            + turns
                .iter()
                .map(|t| t.text.len() + t.tool_result.as_ref().map_or(0, |r| r.len()))
                .sum::<usize>();
        let prompt_tokens = (chars as u64 / 4 + 4 * turns.len() as u64).max(1);
        let last_is_user = turns.last().is_some_and(|t| t.user);
        let idx = turns
            .iter()
            .rposition(|t| t.user)
            .or(turns.len().checked_sub(1));
        let (echo, tool_result) = match idx.and_then(|i| turns.into_iter().nth(i)) {
            Some(t) if t.user => (t.text, t.tool_result),
            Some(t) => (t.text, None),
            None => (Cow::Borrowed(""), None),
        };
        Self {
            prompt_tokens,
            last_is_user,
            echo,
            tool_result,
            tool,
            max_tokens,
        }
    }
}

/// Joins text parts with a single space, borrowing when there is only one.
#[derive(Default)]
pub(crate) struct Joiner<'a>(Option<Cow<'a, str>>);

impl<'a> Joiner<'a> {
    pub(crate) fn push(&mut self, t: Cow<'a, str>) {
        self.0 = Some(match self.0.take() {
            None => t,
            Some(prev) => {
                let mut s = prev.into_owned();
                s.push(' ');
                s.push_str(&t);
                Cow::Owned(s)
            }
        });
    }

    pub(crate) fn finish(self) -> Cow<'a, str> {
        self.0.unwrap_or(Cow::Borrowed(""))
    }
}

/// The text of a JSON tool result: a string as is, an object with a single
/// string field as that string, anything else as compact JSON.
pub(crate) fn json_text(raw: &RawValue) -> Cow<'_, str> {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::String(s)) => Cow::Owned(s),
        Ok(Value::Object(m)) if m.len() == 1 => match m.into_iter().next() {
            Some((_, Value::String(s))) => Cow::Owned(s),
            Some((k, v)) => {
                let mut m = serde_json::Map::new();
                m.insert(k, v);
                Cow::Owned(Value::Object(m).to_string())
            }
            None => Cow::Borrowed("{}"),
        },
        Ok(v) => Cow::Owned(v.to_string()),
        Err(_) => Cow::Borrowed(raw.get()),
    }
}

/// A string, an array of `B` or null (message contents, `system`).
pub(crate) enum StrOrSeq<'a, B> {
    Str(Cow<'a, str>),
    Seq(Vec<B>),
}

impl<'de: 'a, 'a, B: Deserialize<'de>> Deserialize<'de> for StrOrSeq<'a, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<B>(PhantomData<B>);
        impl<'de, B: Deserialize<'de>> Visitor<'de> for V<B> {
            type Value = StrOrSeq<'de, B>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an array or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Seq(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Seq(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
                while let Some(b) = seq.next_element::<B>()? {
                    v.push(b);
                }
                Ok(StrOrSeq::Seq(v))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

// ---------------------------------------------------------------------------
// The scripted reply
// ---------------------------------------------------------------------------

/// Why the answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    EndTurn,
    MaxTokens,
    ToolUse,
}

/// A tool call: the first declared tool, with sample values for its
/// required properties.
pub(crate) struct Call<'a> {
    pub id: [u8; 16],
    pub name: &'a str,
    /// Compact JSON object.
    pub input: String,
}

pub(crate) struct Reply<'a> {
    pub answer: Answer,
    pub call: Option<Call<'a>>,
}

impl Reply<'_> {
    pub(crate) fn stop(&self) -> Stop {
        if self.call.is_some() {
            Stop::ToolUse
        } else if self.answer.finish == "length" {
            Stop::MaxTokens
        } else {
            Stop::EndTurn
        }
    }

    /// Words of the text plus about (name + input)/4 for a tool call.
    pub(crate) fn output_tokens(&self) -> u64 {
        self.answer.words
            + self
                .call
                .as_ref()
                .map_or(0, |c| ((c.name.len() + c.input.len()) as u64).div_ceil(4))
    }

    /// The text in at most `n` non-empty pieces (at least one piece).
    pub(crate) fn pieces(&self, n: usize) -> Vec<&str> {
        let mut v: Vec<&str> = self.answer.pieces(n).filter(|p| !p.is_empty()).collect();
        if v.is_empty() {
            v.push(&self.answer.text);
        }
        v
    }
}

/// Words in a piece of the answer (its spaces separate words).
pub(crate) fn piece_words(piece: &str) -> u64 {
    piece.split(' ').filter(|w| !w.is_empty()).count() as u64
}

/// The reply rules shared by every dialect:
/// - the last user message has a tool result: `Tool said: <first 40 chars>`;
/// - else tools are declared and the last message is the user's: a call of
///   the first tool after the text `Calling <name>.`;
/// - else the usual echo answer.
pub(crate) fn plan<'c>(c: &'c Convo<'_>) -> Reply<'c> {
    if let Some(result) = &c.tool_result {
        return Reply {
            answer: Answer::with_prefix("Tool said:", result, c.max_tokens),
            call: None,
        };
    }
    if let (Some(tool), true) = (&c.tool, c.last_is_user) {
        let name: &str = &tool.name;
        return Reply {
            answer: Answer::plain(format!("Calling {name}.")),
            call: Some(Call {
                id: wire::next_id(),
                name,
                input: tool_input(tool.schema),
            }),
        };
    }
    Reply {
        answer: Answer::new(&c.echo, c.max_tokens),
        call: None,
    }
}

/// `{}` or, when the schema has `required` properties, an object giving each
/// one a sample value by type: string `"sf"`, number/integer `1`, boolean
/// `true`, array `[]`, object `{}` (the first `enum` value when there is one;
/// `"sf"` when the type is unknown). Types are matched case-insensitively
/// (Gemini writes `STRING`).
pub(crate) fn tool_input(schema: Option<&RawValue>) -> String {
    let Some(v) = schema.and_then(|s| serde_json::from_str::<Value>(s.get()).ok()) else {
        return "{}".to_owned();
    };
    let Some(required) = v.get("required").and_then(Value::as_array) else {
        return "{}".to_owned();
    };
    let props = v.get("properties");
    let mut o = Out::with_capacity(64);
    o.raw("{");
    let mut seen: Vec<&str> = Vec::with_capacity(required.len());
    for name in required.iter().filter_map(Value::as_str) {
        if seen.contains(&name) {
            continue;
        }
        if !seen.is_empty() {
            o.raw(",");
        }
        seen.push(name);
        o.str(name).raw(":");
        sample_value(&mut o, props.and_then(|p| p.get(name)));
    }
    o.raw("}");
    String::from_utf8_lossy(&o.0).into_owned()
}

fn sample_value(o: &mut Out, prop: Option<&Value>) {
    if let Some(first) = prop
        .and_then(|p| p.get("enum"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let _ = serde_json::to_writer(&mut o.0, first);
        return;
    }
    let ty = prop.and_then(|p| p.get("type")).and_then(|t| match t {
        Value::String(s) => Some(s.as_str()),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|s| !s.eq_ignore_ascii_case("null")),
        _ => None,
    });
    let lower = ty.map(str::to_ascii_lowercase);
    o.raw(match lower.as_deref() {
        Some("number" | "integer") => "1",
        Some("boolean") => "true",
        Some("array") => "[]",
        Some("object") => "{}",
        _ => "\"sf\"",
    });
}

/// Splits a tool input into 2 or 3 fragments at char boundaries (1 when it
/// is shorter than 2 chars). Concatenated they give `s`.
pub(crate) fn split_json(s: &str) -> Vec<&str> {
    let n = s.chars().count();
    let parts = match n {
        0 | 1 => 1,
        2..=5 => 2,
        _ => 3,
    };
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for k in 1..parts {
        let target = n * k / parts;
        let end = s.char_indices().nth(target).map_or(s.len(), |(i, _)| i);
        out.push(&s[start..end]);
        start = end;
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = classify("/v1/messages", None).unwrap();
        assert_eq!(r.dialect, Dialect::Anthropic);
        assert_eq!(
            classify("/anthropic/v1/messages", None).unwrap().dialect,
            Dialect::Anthropic
        );
        assert!(!r.count);
        let r = classify("/v1/messages/count_tokens", None).unwrap();
        assert!(r.dialect == Dialect::Anthropic && r.count);
        assert!(classify("/v1/messages/batches", None).is_none());

        let r = classify("/v1beta/models/gemini-2.0-flash:generateContent", None).unwrap();
        assert_eq!(r.dialect, Dialect::Gemini);
        assert_eq!(r.model.as_deref(), Some("gemini-2.0-flash"));
        assert!(!r.stream && !r.sse);
        let r = classify(
            "/v1/projects/p/locations/l/publishers/google/models/g%2Dx:streamGenerateContent",
            Some("alt=sse"),
        )
        .unwrap();
        assert_eq!(r.model.as_deref(), Some("g-x"));
        assert!(r.stream && r.sse);
        let r = classify(
            "/v1/publishers/google/models/g:streamGenerateContent",
            Some("key=k"),
        )
        .unwrap();
        assert!(r.stream && !r.sse);
        assert!(classify("/v1beta/models/g:countTokens", None).is_none());
        assert!(classify("/v1beta/models/:generateContent", None).is_none());

        let r = classify(
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
            None,
        )
        .unwrap();
        assert_eq!(r.dialect, Dialect::Bedrock);
        assert_eq!(
            r.model.as_deref(),
            Some("anthropic.claude-3-5-sonnet-20240620-v1:0")
        );
        assert!(!r.stream);
        let r = classify("/bedrock/model/m:0/converse-stream", None).unwrap();
        assert_eq!(r.model.as_deref(), Some("m:0"));
        assert!(r.stream);
        assert!(classify("/model//converse", None).is_none());
        assert!(classify("/models/x/converse", None).is_none());
        assert!(classify("/v1/chat/completions", None).is_none());
    }

    #[test]
    fn queries() {
        assert_eq!(
            query_param(Some("a=1&key=k%2B&alt=sse"), "key"),
            Some("k%2B")
        );
        assert_eq!(query_param(Some("alt"), "alt"), Some(""));
        assert_eq!(query_param(None, "alt"), None);
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn tool_inputs() {
        assert_eq!(tool_input(None), "{}");
        assert_eq!(tool_input(Some(&raw(r#"{"type":"object"}"#))), "{}");
        let s = raw(
            r#"{"type":"OBJECT","properties":{"city":{"type":"STRING"},"n":{"type":"integer"},
            "f":{"type":["null","number"]},"b":{"type":"boolean"},"u":{"type":"string","enum":["c","f"]},
            "l":{"type":"array"},"o":{"type":"object"}},"required":["city","n","f","b","u","l","o","x","city"]}"#,
        );
        assert_eq!(
            tool_input(Some(&s)),
            r#"{"city":"sf","n":1,"f":1,"b":true,"u":"c","l":[],"o":{},"x":"sf"}"#
        );
    }

    #[test]
    fn json_texts() {
        assert_eq!(json_text(&raw(r#""plain""#)), "plain");
        assert_eq!(json_text(&raw(r#"{"result": "22C"}"#)), "22C");
        assert_eq!(json_text(&raw(r#"{"t": 22}"#)), r#"{"t":22}"#);
        assert_eq!(json_text(&raw(r#"{"a": 1, "b": 2}"#)), r#"{"a":1,"b":2}"#);
        assert_eq!(json_text(&raw("[1, 2]")), "[1,2]");
    }

    #[test]
    fn json_splits() {
        for s in ["", "{}", "{\"a\"}", r#"{"city":"sf","n":1}"#, "é€{}"] {
            let parts = split_json(s);
            assert!(!parts.is_empty() && parts.len() <= 3, "{s}");
            assert_eq!(parts.concat(), s);
        }
        assert_eq!(split_json("{}"), ["{", "}"]);
        assert_eq!(split_json(r#"{"city":"sf"}"#).len(), 3);
    }

    fn turn(user: bool, text: &'static str, result: Option<&'static str>) -> Turn<'static> {
        Turn {
            user,
            text: Cow::Borrowed(text),
            tool_result: result.map(Cow::Borrowed),
        }
    }

    #[test]
    fn plans() {
        let schema = raw(r#"{"required":["q"],"properties":{"q":{"type":"string"}}}"#);
        let tool = || {
            Some(ToolDecl {
                name: Cow::Borrowed("search"),
                schema: Some(&schema),
            })
        };
        let c = Convo::new(vec![turn(true, "find it", None)], 0, tool(), None);
        let r = plan(&c);
        assert_eq!(r.answer.text, "Calling search.");
        let call = r.call.as_ref().unwrap();
        assert_eq!(
            (call.name, call.input.as_str()),
            ("search", r#"{"q":"sf"}"#)
        );
        assert_eq!(r.stop(), Stop::ToolUse);
        assert_eq!(r.output_tokens(), 2 + 4);

        let c = Convo::new(
            vec![
                turn(true, "find it", None),
                turn(false, "", None),
                turn(
                    true,
                    "",
                    Some("  72 degrees\nand sunny in the whole bay area today ok"),
                ),
            ],
            0,
            tool(),
            None,
        );
        let r = plan(&c);
        assert!(r.call.is_none());
        assert_eq!(
            r.answer.text,
            "Tool said: 72 degrees and sunny in the whole bay"
        );
        assert_eq!(r.stop(), Stop::EndTurn);

        // A trailing assistant message (prefill): no call.
        let c = Convo::new(
            vec![turn(true, "hello", None), turn(false, "pre", None)],
            8,
            tool(),
            Some(2),
        );
        assert_eq!(c.prompt_tokens, (5 + 3 + 8) / 4 + 8);
        let r = plan(&c);
        assert!(r.call.is_none());
        assert_eq!(r.answer.text, "Hello from");
        assert_eq!(r.stop(), Stop::MaxTokens);
        assert_eq!(r.pieces(8), ["Hello", " from"]);

        let c = Convo::new(Vec::new(), 0, None, None);
        assert_eq!(c.prompt_tokens, 1);
        assert_eq!(
            plan(&c).answer.text,
            "Hello from the Switchyard emulator. You said:"
        );
    }
}
