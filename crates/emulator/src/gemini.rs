//! Gemini / Vertex AI `generateContent` and `streamGenerateContent` (SSE with
//! `alt=sse`, else a streamed JSON array), with Google-shaped errors.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::body::EmuBody;
use crate::native::{self, Ctx, Failure, Frames, Joiner, Reply, Request, Stop, ToolDecl, Turn};
use crate::server::respond;
use crate::wire::{Out, Text};

const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=UTF-8");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

// ---------------------------------------------------------------------------
// Request (camelCase, with the snake_case names the API also accepts)
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Req<'a> {
    #[serde(borrow)]
    contents: Option<Vec<GContent<'a>>>,
    #[serde(borrow, alias = "system_instruction")]
    system_instruction: Option<GContent<'a>>,
    #[serde(borrow)]
    tools: Option<Vec<GTool<'a>>>,
    #[serde(alias = "generation_config")]
    generation_config: Option<GenConfig>,
}

#[derive(Deserialize)]
struct GContent<'a> {
    #[serde(borrow)]
    role: Option<Text<'a>>,
    #[serde(borrow)]
    parts: Option<Vec<Part<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow, alias = "function_response")]
    function_response: Option<FnResponse<'a>>,
}

#[derive(Deserialize)]
struct FnResponse<'a> {
    #[serde(borrow)]
    response: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GTool<'a> {
    #[serde(borrow, alias = "function_declarations")]
    function_declarations: Option<Vec<FnDecl<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FnDecl<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    parameters: Option<&'a RawValue>,
    #[serde(borrow, alias = "parameters_json_schema")]
    parameters_json_schema: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenConfig {
    #[serde(alias = "max_output_tokens")]
    max_output_tokens: Option<u64>,
}

/// A content without a role is the user's (single-turn requests).
fn turn(c: GContent<'_>) -> Turn<'_> {
    let user = c.role.as_ref().is_none_or(|r| r.0 == "user");
    let mut text = Joiner::default();
    let mut tool_result = None;
    for p in c.parts.unwrap_or_default() {
        if let Some(t) = p.text {
            text.push(t.0);
        }
        if let Some(fr) = p.function_response {
            if tool_result.is_none() {
                tool_result = Some(fr.response.map_or(Cow::Borrowed(""), native::json_text));
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
    let missing = r
        .contents
        .as_ref()
        .is_none_or(Vec::is_empty)
        .then_some("* GenerateContentRequest.contents: contents is not specified");
    let tool = r
        .tools
        .unwrap_or_default()
        .into_iter()
        .flat_map(|t| t.function_declarations.unwrap_or_default())
        .find_map(|d| {
            d.name.map(|n| ToolDecl {
                name: n.0,
                schema: d.parameters_json_schema.or(d.parameters),
            })
        });
    let system_chars = r.system_instruction.map_or(0, |s| turn(s).text.len());
    let turns = r
        .contents
        .unwrap_or_default()
        .into_iter()
        .map(turn)
        .collect();
    let max_tokens = r.generation_config.and_then(|g| g.max_output_tokens);
    Ok(Request {
        model: None,
        stream: false,
        missing,
        convo: native::Convo::new(turns, system_chars, tool, max_tokens),
    })
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// `{"error":{"code":...,"message":...,"status":...}}`
pub(crate) fn error(f: Failure<'_>) -> Response<EmuBody> {
    let (status, grpc, message, details) = match f {
        Failure::Unauthorized("") => (
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.".to_owned(),
            None,
        ),
        Failure::Unauthorized(token) => (
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!(
                "API key not valid. Please pass a valid API key. ({})",
                crate::mask_token(token)
            ),
            None,
        ),
        Failure::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota) (emulated).".to_owned(),
            Some("[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1s\"}]"),
        ),
        Failure::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.".to_owned(),
            None,
        ),
        Failure::Invalid(m) => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", m, None),
        Failure::Method(m) => (StatusCode::METHOD_NOT_ALLOWED, "UNIMPLEMENTED", m, None),
    };
    let mut o = Out::with_capacity(message.len() + 128);
    o.raw("{\"error\":{\"code\":")
        .num(u64::from(status.as_u16()))
        .raw(",\"message\":")
        .str(&message)
        .raw(",\"status\":")
        .str(grpc);
    if let Some(d) = details {
        o.raw(",\"details\":").raw(d);
    }
    o.raw("}}");
    respond(status, JSON_UTF8, EmuBody::full(o.into_bytes()))
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

fn finish_reason(s: Stop) -> &'static str {
    match s {
        Stop::MaxTokens => "MAX_TOKENS",
        Stop::EndTurn | Stop::ToolUse => "STOP",
    }
}

pub(crate) fn render(
    ctx: &Ctx<'_>,
    reply: &Reply<'_>,
    stream: bool,
    sse: bool,
) -> Response<EmuBody> {
    if !stream {
        return native::full(StatusCode::OK, JSON_UTF8, response(ctx, reply), ctx.cut);
    }
    let chunks = chunks(ctx, reply);
    let mut f = Frames::with_capacity(chunks.iter().map(|c| c.len() + 8).sum(), chunks.len() + 1);
    if sse {
        for c in &chunks {
            f.o.raw("data: ").bytes(c).raw("\r\n\r\n");
            f.end();
        }
        // The first chunk, then cut.
        f.respond(EVENT_STREAM, ctx, 1)
    } else {
        for (i, c) in chunks.iter().enumerate() {
            f.o.raw(if i == 0 { "[" } else { ",\r\n" }).bytes(c);
            f.end();
        }
        f.o.raw("]");
        f.end();
        f.respond(JSON_UTF8, ctx, 1)
    }
}

/// Parts of one candidate: an optional text part, then an optional call.
fn candidate(
    o: &mut Out,
    text: Option<&str>,
    call: Option<&native::Call<'_>>,
    finish: Option<Stop>,
) {
    o.raw("{\"candidates\":[{\"content\":{\"parts\":[");
    if let Some(t) = text {
        o.raw("{\"text\":").str(t).raw("}");
    }
    if let Some(c) = call {
        if text.is_some() {
            o.raw(",");
        }
        o.raw("{\"functionCall\":{\"name\":")
            .str(c.name)
            .raw(",\"args\":")
            .raw(&c.input)
            .raw("}}");
    }
    o.raw("],\"role\":\"model\"}");
    if let Some(s) = finish {
        o.raw(",\"finishReason\":").str(finish_reason(s));
    }
    o.raw(",\"index\":0}]");
}

/// `usageMetadata` (unless `ctx.usage` is off), `modelVersion`, `responseId`.
fn tail(o: &mut Out, ctx: &Ctx<'_>, candidates_tokens: u64) {
    if ctx.usage {
        o.raw(",\"usageMetadata\":{\"promptTokenCount\":")
            .num(ctx.prompt_tokens)
            .raw(",\"candidatesTokenCount\":")
            .num(candidates_tokens)
            .raw(",\"totalTokenCount\":")
            .num(ctx.prompt_tokens + candidates_tokens)
            .raw("}");
    }
    o.raw(",\"modelVersion\":")
        .str(ctx.model)
        .raw(",\"responseId\":\"")
        .bytes(ctx.id)
        .raw("\"}");
}

fn response(ctx: &Ctx<'_>, reply: &Reply<'_>) -> Bytes {
    let mut o = Out::with_capacity(320 + reply.answer.text.len() + ctx.model.len());
    candidate(
        &mut o,
        Some(&reply.answer.text),
        reply.call.as_ref(),
        Some(reply.stop()),
    );
    tail(&mut o, ctx, reply.output_tokens());
    o.into_bytes()
}

/// One full `GenerateContentResponse` per text piece (cumulative usage),
/// the finish reason on the last; a tool call comes in a last chunk of its own.
fn chunks(ctx: &Ctx<'_>, reply: &Reply<'_>) -> Vec<Vec<u8>> {
    let pieces = reply.pieces(ctx.chunks);
    let mut out = Vec::with_capacity(pieces.len() + 1);
    let mut words = 0;
    let last = pieces.len() - 1;
    for (i, piece) in pieces.iter().enumerate() {
        words += native::piece_words(piece);
        let finish = (i == last && reply.call.is_none()).then(|| reply.stop());
        let used = if finish.is_some() {
            reply.output_tokens()
        } else {
            words
        };
        let mut o = Out::with_capacity(256 + piece.len() + ctx.model.len());
        candidate(&mut o, Some(piece), None, finish);
        tail(&mut o, ctx, used);
        out.push(o.0);
    }
    if let Some(call) = &reply.call {
        let mut o = Out::with_capacity(256 + call.input.len() + ctx.model.len());
        candidate(&mut o, None, Some(call), Some(reply.stop()));
        tail(&mut o, ctx, reply.output_tokens());
        out.push(o.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_contents_and_tools() {
        let body = br#"{"contents":[{"parts":[{"text":"What is"},{"text":"the weather?"}]},
            {"role":"model","parts":[{"functionCall":{"name":"w","args":{}}}]},
            {"role":"user","parts":[{"functionResponse":{"name":"w","response":{"result":"rainy"}}}]}],
            "system_instruction":{"parts":[{"text":"sys"}]},
            "tools":[{"googleSearch":{}},{"functionDeclarations":[{"name":"w","parameters":{"type":"OBJECT","required":["c"],"properties":{"c":{"type":"STRING"}}}}]}],
            "generationConfig":{"maxOutputTokens":9,"temperature":0.1}}"#;
        let r = parse(body).unwrap();
        assert!(r.missing.is_none());
        let c = &r.convo;
        assert_eq!(c.tool_result.as_deref(), Some("rainy"));
        assert_eq!(c.tool.as_ref().unwrap().name, "w");
        assert_eq!(
            native::tool_input(c.tool.as_ref().unwrap().schema),
            r#"{"c":"sf"}"#
        );
        assert_eq!(c.max_tokens, Some(9));
        assert_eq!(c.prompt_tokens, (3 + 20 + 5) / 4 + 12);

        let r = parse(br#"{"contents":[{"parts":[{"text":"a"}]}]}"#).unwrap();
        assert!(r.convo.last_is_user);
        assert_eq!(r.convo.echo, "a");
        assert!(parse(br#"{"contents":[]}"#).unwrap().missing.is_some());
        assert!(parse(br#"{}"#).unwrap().missing.is_some());
    }
}
