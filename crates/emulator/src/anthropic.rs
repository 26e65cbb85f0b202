//! Anthropic Messages (`POST .../v1/messages`): request parsing, messages,
//! SSE streams and Anthropic-shaped errors.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::body::EmuBody;
use crate::native::{
    self, Ctx, Failure, Frames, Joiner, Reply, Request, Stop, StrOrSeq, ToolDecl, Turn,
};
use crate::server::{APPLICATION_JSON, RETRY_AFTER, header_str, respond};
use crate::wire::{Content, Out, Text};

const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream; charset=utf-8");
const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const OVERLOADED: u16 = 529;

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct Req<'a> {
    #[serde(borrow)]
    model: Option<Text<'a>>,
    max_tokens: Option<u64>,
    stream: Option<bool>,
    #[serde(borrow)]
    system: Option<Content<'a>>,
    #[serde(borrow)]
    messages: Option<Vec<Msg<'a>>>,
    #[serde(borrow)]
    tools: Option<Vec<Tool<'a>>>,
}

#[derive(Deserialize)]
struct Msg<'a> {
    #[serde(borrow)]
    role: Option<Text<'a>>,
    #[serde(borrow)]
    content: Option<StrOrSeq<'a, Block<'a>>>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<Text<'a>>,
    #[serde(borrow)]
    text: Option<Text<'a>>,
    /// `tool_result` content: a string or text blocks.
    #[serde(borrow)]
    content: Option<Content<'a>>,
}

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    input_schema: Option<&'a RawValue>,
    /// Tool search: a deferred tool is not in the model's context, so it is
    /// never the one called.
    defer_loading: Option<bool>,
}

fn turn(m: Msg<'_>) -> Turn<'_> {
    let user = m.role.is_some_and(|r| r.0 == "user");
    let mut text = Joiner::default();
    let mut tool_result = None;
    match m.content {
        Some(StrOrSeq::Str(s)) => text.push(s),
        Some(StrOrSeq::Seq(blocks)) => {
            for b in blocks {
                let ty = b.ty.as_ref().map_or("", |t| &t.0);
                match ty {
                    "tool_result" if tool_result.is_none() => {
                        tool_result = Some(b.content.map_or(Cow::Borrowed(""), |c| c.0));
                    }
                    "text" | "" => {
                        if let Some(t) = b.text {
                            text.push(t.0);
                        }
                    }
                    _ => {}
                }
            }
        }
        None => {}
    }
    Turn {
        user,
        text: text.finish(),
        tool_result,
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Request<'_>, serde_json::Error> {
    let r: Req<'_> = serde_json::from_slice(bytes)?;
    let missing = if r.model.is_none() {
        Some("model: Field required")
    } else if r.max_tokens.is_none() {
        Some("max_tokens: Field required")
    } else if r.messages.is_none() {
        Some("messages: Field required")
    } else {
        None
    };
    let tool = r.tools.and_then(|tools| {
        tools.into_iter().find_map(|t| {
            if t.defer_loading == Some(true) {
                return None;
            }
            t.name.map(|n| ToolDecl {
                name: n.0,
                schema: t.input_schema,
            })
        })
    });
    // A `system` message among the turns (Claude Code's
    // `mid-conversation-system` beta) is an instruction, not a turn: the
    // turn stays the user's, so the tool rules see the user message before it.
    let mut system_chars = r.system.map_or(0, |s| s.0.len());
    let turns = r
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| {
            let system = m.role.as_ref().is_some_and(|r| r.0 == "system");
            let t = turn(m);
            if system {
                system_chars += t.text.len();
                return None;
            }
            Some(t)
        })
        .collect();
    Ok(Request {
        model: r.model.map(|m| m.0),
        stream: r.stream.unwrap_or(false),
        missing,
        convo: native::Convo::new(turns, system_chars, tool, r.max_tokens),
    })
}

/// Anthropic rejects requests without an `anthropic-version` header.
pub(crate) fn precheck(headers: &HeaderMap) -> Option<Response<EmuBody>> {
    if header_str(headers, "anthropic-version").is_some_and(|v| !v.trim().is_empty()) {
        return None;
    }
    Some(error(Failure::Invalid(
        "anthropic-version: header is required".to_owned(),
    )))
}

/// `request-id` (as sent by Anthropic) mirrors `x-request-id`.
pub(crate) fn decorate(resp: &mut Response<EmuBody>, id: &[u8; 16]) {
    let mut rid = Vec::with_capacity(20);
    rid.extend_from_slice(b"req_");
    rid.extend_from_slice(id);
    native::set_header(resp, REQUEST_ID, &rid);
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// `{"type":"error","error":{"type":...,"message":...}}`
pub(crate) fn error(f: Failure<'_>) -> Response<EmuBody> {
    let (status, ty, message) = match f {
        Failure::Unauthorized("") => (
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required".to_owned(),
        ),
        Failure::Unauthorized(token) => (
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            format!("invalid x-api-key ({})", crate::mask_token(token)),
        ),
        Failure::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization (emulated). Please try again in 1s.".to_owned(),
        ),
        Failure::Unavailable => (
            StatusCode::from_u16(OVERLOADED).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "overloaded_error",
            "Overloaded".to_owned(),
        ),
        Failure::Invalid(m) => (StatusCode::BAD_REQUEST, "invalid_request_error", m),
        Failure::Method(m) => (
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            m,
        ),
    };
    let mut o = Out::with_capacity(message.len() + 80);
    o.raw("{\"type\":\"error\",\"error\":{\"type\":")
        .str(ty)
        .raw(",\"message\":")
        .str(&message)
        .raw("}}");
    let mut r = respond(status, APPLICATION_JSON, EmuBody::full(o.into_bytes()));
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
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
        // message_start, content_block_start, ping, first delta: then cut.
        events(ctx, reply).respond(EVENT_STREAM, ctx, 4)
    } else {
        native::full(
            StatusCode::OK,
            APPLICATION_JSON,
            message(ctx, reply),
            ctx.cut,
        )
    }
}

fn message(ctx: &Ctx<'_>, reply: &Reply<'_>) -> Bytes {
    let a = &reply.answer;
    let mut o = Out::with_capacity(384 + a.text.len() + ctx.model.len());
    o.raw("{\"id\":\"msg_")
        .bytes(ctx.id)
        .raw("\",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
        .str(ctx.model)
        .raw(",\"content\":[{\"type\":\"text\",\"text\":")
        .str(&a.text)
        .raw("}");
    if let Some(call) = &reply.call {
        o.raw(",{\"type\":\"tool_use\",\"id\":\"toolu_")
            .bytes(&call.id)
            .raw("\",\"name\":")
            .str(call.name)
            .raw(",\"input\":")
            .raw(&call.input)
            .raw("}");
    }
    o.raw("],\"stop_reason\":")
        .str(stop_reason(reply.stop()))
        .raw(",\"stop_sequence\":null");
    if ctx.usage {
        o.raw(",\"usage\":{\"input_tokens\":")
            .num(ctx.prompt_tokens)
            .raw(",\"output_tokens\":")
            .num(reply.output_tokens())
            .raw(",\"cache_read_input_tokens\":0,\"cache_creation_input_tokens\":0}");
    }
    o.raw("}");
    o.into_bytes()
}

fn event<'f>(f: &'f mut Frames, name: &str) -> &'f mut Out {
    f.o.raw("event: ").raw(name).raw("\ndata: ");
    &mut f.o
}

fn events(ctx: &Ctx<'_>, reply: &Reply<'_>) -> Frames {
    let pieces = reply.pieces(ctx.chunks);
    let mut f = Frames::with_capacity(
        1024 + ctx.model.len() + reply.answer.text.len() + pieces.len() * 96,
        pieces.len() + 12,
    );
    event(&mut f, "message_start")
        .raw("{\"type\":\"message_start\",\"message\":{\"id\":\"msg_")
        .bytes(ctx.id)
        .raw("\",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
        .str(ctx.model)
        .raw(",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null");
    if ctx.usage {
        f.o.raw(",\"usage\":{\"input_tokens\":")
            .num(ctx.prompt_tokens)
            .raw(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}");
    }
    f.o.raw("}}\n\n");
    f.end();
    event(&mut f, "content_block_start").raw(
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    f.end();
    // Exactly as Anthropic sends it (note the space).
    event(&mut f, "ping").raw("{\"type\": \"ping\"}\n\n");
    f.end();
    for piece in &pieces {
        event(&mut f, "content_block_delta")
            .raw("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":")
            .str(piece)
            .raw("}}\n\n");
        f.end();
    }
    event(&mut f, "content_block_stop").raw("{\"type\":\"content_block_stop\",\"index\":0}\n\n");
    f.end();
    if let Some(call) = &reply.call {
        event(&mut f, "content_block_start")
            .raw("{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_")
            .bytes(&call.id)
            .raw("\",\"name\":")
            .str(call.name)
            .raw(",\"input\":{}}}\n\n");
        f.end();
        // Like Anthropic, a tool without arguments gets one empty fragment.
        let fragments = if call.input == "{}" {
            vec![""]
        } else {
            native::split_json(&call.input)
        };
        for frag in fragments {
            event(&mut f, "content_block_delta")
                .raw("{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":")
                .str(frag)
                .raw("}}\n\n");
            f.end();
        }
        event(&mut f, "content_block_stop")
            .raw("{\"type\":\"content_block_stop\",\"index\":1}\n\n");
        f.end();
    }
    event(&mut f, "message_delta")
        .raw("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":")
        .str(stop_reason(reply.stop()))
        .raw(",\"stop_sequence\":null}");
    if ctx.usage {
        f.o.raw(",\"usage\":{\"input_tokens\":")
            .num(ctx.prompt_tokens)
            .raw(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":")
            .num(reply.output_tokens())
            .raw("}");
    }
    f.o.raw("}\n\n");
    f.end();
    event(&mut f, "message_stop").raw("{\"type\":\"message_stop\"}\n\n");
    f.end();
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_and_tool_results() {
        let body = br#"{"model":"claude","max_tokens":64,"system":[{"type":"text","text":"be brief"}],
            "messages":[{"role":"user","content":"hi"},
              {"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t","name":"f","input":{"a":1}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"sunny"},{"type":"text","text":"22C"}]},{"type":"text","text":"and?"}]}],
            "tools":[{"type":"web_search_20250305","name":"web"},{"name":"f","input_schema":{"type":"object"}}],
            "stream":true,"metadata":{"user_id":"u"}}"#;
        let r = parse(body).unwrap();
        assert!(r.stream);
        assert!(r.missing.is_none());
        assert_eq!(r.model.as_deref(), Some("claude"));
        let c = &r.convo;
        assert_eq!(c.tool_result.as_deref(), Some("sunny 22C"));
        assert_eq!(c.echo, "and?");
        assert_eq!(c.tool.as_ref().unwrap().name, "web");
        assert!(c.tool.as_ref().unwrap().schema.is_none());
        assert_eq!(c.max_tokens, Some(64));

        let r = parse(br#"{"model":"m","messages":[]}"#).unwrap();
        assert_eq!(r.missing, Some("max_tokens: Field required"));
        let r = parse(br#"{"max_tokens":1,"messages":[]}"#).unwrap();
        assert_eq!(r.missing, Some("model: Field required"));
        let r = parse(br#"{"model":"m","max_tokens":1}"#).unwrap();
        assert_eq!(r.missing, Some("messages: Field required"));
        let r = parse(br#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"plain"}]}]}"#).unwrap();
        assert_eq!(r.convo.tool_result.as_deref(), Some("plain"));
    }

    #[test]
    fn claude_code_turns_end_with_the_user_and_call_the_first_loaded_tool() {
        // Claude Code puts a `system` message after the user's turn.
        let body = br#"{"model":"m","max_tokens":64,
            "messages":[{"role":"user","content":"list files"},
              {"role":"system","content":[{"type":"text","text":"env: linux"}]}],
            "tools":[{"name":"DeferredToolPlaceholder","input_schema":{"type":"object"},"defer_loading":true},
              {"name":"Bash","input_schema":{"type":"object","required":["command"],"properties":{"command":{"type":"string"}}}}]}"#;
        let c = parse(body).unwrap().convo;
        assert!(c.last_is_user);
        assert_eq!(c.echo, "list files");
        let plain = parse(
            br#"{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"list files"}]}"#,
        )
        .unwrap();
        assert!(
            c.prompt_tokens > plain.convo.prompt_tokens,
            "the system text still counts"
        );
        let reply = native::plan(&c);
        assert_eq!(reply.answer.text, "Calling Bash.");
        assert_eq!(
            reply.call.map(|c| c.input),
            Some(r#"{"command":"sf"}"#.to_owned())
        );
    }
}
