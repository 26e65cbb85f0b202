//! Amazon Bedrock Converse (`POST /model/{modelId}/converse`) and
//! ConverseStream (`.../converse-stream`, a binary AWS event stream), with
//! AWS-shaped errors (`x-amzn-errortype` + `{"message":...}`).

use std::borrow::Cow;

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::body::EmuBody;
use crate::eventstream;
use crate::native::{self, Ctx, Failure, Frames, Joiner, Reply, Request, Stop, ToolDecl, Turn};
use crate::server::{APPLICATION_JSON, header_str, respond};
use crate::wire::{self, Out, Text};

const EVENTSTREAM: HeaderValue = HeaderValue::from_static("application/vnd.amazon.eventstream");
const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Req<'a> {
    #[serde(borrow)]
    messages: Option<Vec<Msg<'a>>>,
    #[serde(borrow)]
    system: Option<Vec<SystemBlock<'a>>>,
    inference_config: Option<InferenceConfig>,
    #[serde(borrow)]
    tool_config: Option<ToolConfig<'a>>,
}

#[derive(Deserialize)]
struct Msg<'a> {
    #[serde(borrow)]
    role: Option<Text<'a>>,
    #[serde(borrow)]
    content: Option<Vec<Block<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Block<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow)]
    tool_result: Option<ToolResult<'a>>,
}

#[derive(Deserialize)]
struct ToolResult<'a> {
    #[serde(borrow)]
    content: Option<Vec<ResultBlock<'a>>>,
}

#[derive(Deserialize)]
struct ResultBlock<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow)]
    json: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct SystemBlock<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig {
    max_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct ToolConfig<'a> {
    #[serde(borrow)]
    tools: Option<Vec<Tool<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tool<'a> {
    #[serde(borrow)]
    tool_spec: Option<ToolSpec<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolSpec<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    input_schema: Option<InputSchema<'a>>,
}

#[derive(Deserialize)]
struct InputSchema<'a> {
    #[serde(borrow)]
    json: Option<&'a RawValue>,
}

fn result_text(r: ToolResult<'_>) -> Cow<'_, str> {
    let mut j = Joiner::default();
    for b in r.content.unwrap_or_default() {
        if let Some(t) = b.text {
            j.push(t.0);
        } else if let Some(raw) = b.json {
            j.push(native::json_text(raw));
        }
    }
    j.finish()
}

fn turn(m: Msg<'_>) -> Turn<'_> {
    let user = m.role.is_some_and(|r| r.0 == "user");
    let mut text = Joiner::default();
    let mut tool_result = None;
    for b in m.content.unwrap_or_default() {
        if let Some(t) = b.text {
            text.push(t.0);
        }
        if let Some(r) = b.tool_result {
            if tool_result.is_none() {
                tool_result = Some(result_text(r));
            }
        }
    }
    Turn {
        user,
        text: text.finish(),
        tool_result,
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Request<'_>, serde_json::Error> {
    let r: Req<'_> = serde_json::from_slice(bytes)?;
    let missing = r.messages.is_none().then_some(
        "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null",
    );
    let tool = r
        .tool_config
        .and_then(|c| c.tools)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| t.tool_spec)
        .find_map(|s| {
            s.name.map(|n| ToolDecl {
                name: n.0,
                schema: s.input_schema.and_then(|i| i.json),
            })
        });
    let system_chars = r
        .system
        .unwrap_or_default()
        .iter()
        .map(|s| s.text.as_ref().map_or(0, |t| t.0.len()))
        .sum();
    let turns = r
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(turn)
        .collect();
    let max_tokens = r.inference_config.and_then(|c| c.max_tokens);
    Ok(Request {
        model: None,
        stream: false,
        missing,
        convo: native::Convo::new(turns, system_chars, tool, max_tokens),
    })
}

/// A SigV4-signed request must carry `x-amz-date` and `x-amz-content-sha256`
/// (the signature itself is not verified).
pub(crate) fn precheck(headers: &HeaderMap) -> Option<Response<EmuBody>> {
    let auth = header_str(headers, "authorization")?;
    if !wire::is_sigv4(auth) {
        return None;
    }
    let missing = ["x-amz-date", "x-amz-content-sha256"]
        .into_iter()
        .find(|h| header_str(headers, h).is_none_or(|v| v.trim().is_empty()))?;
    let msg = format!(
        "Authorization header requires existence of the '{missing}' header (AWS SigV4, emulated)."
    );
    Some(aws_error(
        StatusCode::BAD_REQUEST,
        "IncompleteSignatureException",
        &msg,
    ))
}

/// `x-amzn-requestid`: a UUID-shaped request id.
pub(crate) fn decorate(resp: &mut Response<EmuBody>, id: &[u8; 16]) {
    let more = wire::next_id();
    let mut v = Vec::with_capacity(36);
    v.extend_from_slice(&id[..8]);
    v.push(b'-');
    v.extend_from_slice(&id[8..12]);
    v.push(b'-');
    v.extend_from_slice(&id[12..16]);
    v.push(b'-');
    v.extend_from_slice(&more[..4]);
    v.push(b'-');
    v.extend_from_slice(&more[4..16]);
    native::set_header(resp, REQUEST_ID, &v);
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

fn aws_error(status: StatusCode, ty: &'static str, message: &str) -> Response<EmuBody> {
    let mut o = Out::with_capacity(message.len() + 16);
    o.raw("{\"message\":").str(message).raw("}");
    let mut r = respond(status, APPLICATION_JSON, EmuBody::full(o.into_bytes()));
    r.headers_mut()
        .insert(ERROR_TYPE, HeaderValue::from_static(ty));
    r
}

/// Bad credentials are a 403 `UnrecognizedClientException`, as on AWS.
pub(crate) fn error(f: Failure<'_>) -> Response<EmuBody> {
    match f {
        Failure::Unauthorized("") => aws_error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        Failure::Unauthorized(token) => aws_error(
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            &format!(
                "The security token included in the request is invalid. ({})",
                crate::mask_token(token)
            ),
        ),
        Failure::RateLimited => aws_error(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Too many requests, please wait before trying again. (emulated)",
        ),
        Failure::Unavailable => aws_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request. (emulated)",
        ),
        Failure::Invalid(m) => aws_error(StatusCode::BAD_REQUEST, "ValidationException", &m),
        Failure::Method(m) => aws_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            &m,
        ),
    }
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

fn stop_reason(s: Stop) -> &'static str {
    match s {
        Stop::EndTurn => "end_turn",
        Stop::MaxTokens => "max_tokens",
        Stop::ToolUse => "tool_use",
    }
}

pub(crate) fn render(ctx: &Ctx<'_>, reply: &Reply<'_>, stream: bool) -> Response<EmuBody> {
    if stream {
        // messageStart and the first delta, then cut.
        frames(ctx, reply).respond(EVENTSTREAM, ctx, 2)
    } else {
        native::full(
            StatusCode::OK,
            APPLICATION_JSON,
            converse(ctx, reply),
            ctx.cut,
        )
    }
}

fn usage(o: &mut Out, ctx: &Ctx<'_>, reply: &Reply<'_>) {
    let out = reply.output_tokens();
    o.raw("{\"inputTokens\":")
        .num(ctx.prompt_tokens)
        .raw(",\"outputTokens\":")
        .num(out)
        .raw(",\"totalTokens\":")
        .num(ctx.prompt_tokens + out)
        .raw("}");
}

fn converse(ctx: &Ctx<'_>, reply: &Reply<'_>) -> Bytes {
    let mut o = Out::with_capacity(256 + reply.answer.text.len());
    o.raw("{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":")
        .str(&reply.answer.text)
        .raw("}");
    if let Some(call) = &reply.call {
        o.raw(",{\"toolUse\":{\"toolUseId\":\"tooluse_")
            .bytes(&call.id)
            .raw("\",\"name\":")
            .str(call.name)
            .raw(",\"input\":")
            .raw(&call.input)
            .raw("}}");
    }
    o.raw("]}},\"stopReason\":").str(stop_reason(reply.stop()));
    if ctx.usage {
        o.raw(",\"usage\":");
        usage(&mut o, ctx, reply);
    }
    o.raw(",\"metrics\":{\"latencyMs\":")
        .num(ctx.latency_ms)
        .raw("}}");
    o.into_bytes()
}

/// Bedrock pads every event payload with a `"p"` field of varying length.
fn pad(n: usize) -> &'static str {
    const P: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    &P[..(n * 17 + 5) % P.len() + 1]
}

struct Stream {
    f: Frames,
    payload: Out,
}

impl Stream {
    /// Frames the payload built in `self.payload` as an `event_type` event.
    fn event(&mut self, event_type: &str) {
        eventstream::frame(
            &mut self.f.o.0,
            &[
                (":event-type", event_type),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            &self.payload.0,
        );
        self.f.end();
        self.payload.0.clear();
    }

    fn pad(&mut self) -> &mut Out {
        let n = self.f.ends.len();
        self.payload.raw("\"p\":").str(pad(n))
    }
}

/// messageStart, text deltas, contentBlockStop, [tool block], messageStop,
/// metadata (left out when `ctx.usage` is off: it is where usage goes).
/// Payload keys are sorted, as Bedrock sends them.
fn frames(ctx: &Ctx<'_>, reply: &Reply<'_>) -> Frames {
    let pieces = reply.pieces(ctx.chunks);
    let mut s = Stream {
        f: Frames::with_capacity(512 + pieces.len() * 200, pieces.len() + 10),
        payload: Out::with_capacity(256),
    };
    s.payload.raw("{");
    s.pad().raw(",\"role\":\"assistant\"}");
    s.event("messageStart");
    for piece in &pieces {
        s.payload
            .raw("{\"contentBlockIndex\":0,\"delta\":{\"text\":")
            .str(piece)
            .raw("},");
        s.pad().raw("}");
        s.event("contentBlockDelta");
    }
    s.payload.raw("{\"contentBlockIndex\":0,");
    s.pad().raw("}");
    s.event("contentBlockStop");
    if let Some(call) = &reply.call {
        s.payload.raw("{\"contentBlockIndex\":1,");
        s.pad()
            .raw(",\"start\":{\"toolUse\":{\"name\":")
            .str(call.name)
            .raw(",\"toolUseId\":\"tooluse_")
            .bytes(&call.id)
            .raw("\"}}}");
        s.event("contentBlockStart");
        for frag in native::split_json(&call.input) {
            s.payload
                .raw("{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":")
                .str(frag)
                .raw("}},");
            s.pad().raw("}");
            s.event("contentBlockDelta");
        }
        s.payload.raw("{\"contentBlockIndex\":1,");
        s.pad().raw("}");
        s.event("contentBlockStop");
    }
    s.payload.raw("{");
    s.pad()
        .raw(",\"stopReason\":")
        .str(stop_reason(reply.stop()))
        .raw("}");
    s.event("messageStop");
    if !ctx.usage {
        return s.f;
    }
    s.payload
        .raw("{\"metrics\":{\"latencyMs\":")
        .num(ctx.latency_ms)
        .raw("},");
    s.pad().raw(",\"usage\":");
    usage(&mut s.payload, ctx, reply);
    s.payload.raw("}");
    s.event("metadata");
    s.f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_messages_and_tools() {
        let body = br#"{"messages":[{"role":"user","content":[{"text":"What was the temperature?"}]},
            {"role":"assistant","content":[{"toolUse":{"toolUseId":"t","name":"temperature","input":{}}}]},
            {"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"json":{"c":30}},{"text":"C"}],"status":"success"}}]}],
            "system":[{"text":"You are helpful."},{"cachePoint":{"type":"default"}}],
            "inferenceConfig":{"maxTokens":100},
            "toolConfig":{"tools":[{"cachePoint":{}},{"toolSpec":{"name":"temperature","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}],"toolChoice":{"any":{}}}}"#;
        let r = parse(body).unwrap();
        assert!(r.missing.is_none());
        let c = &r.convo;
        assert_eq!(c.tool_result.as_deref(), Some("{\"c\":30} C"));
        assert_eq!(c.tool.as_ref().unwrap().name, "temperature");
        assert_eq!(c.max_tokens, Some(100));
        assert!(parse(b"{}").unwrap().missing.is_some());
    }

    #[test]
    fn pads_vary() {
        assert_ne!(pad(0).len(), pad(1).len());
        assert!((0..100).all(|i| !pad(i).is_empty()));
    }
}
