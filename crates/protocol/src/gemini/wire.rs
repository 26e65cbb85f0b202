//! Gemini wire types shared by requests, responses and streams, and the
//! part-level conversions (signatures, function calls and results, images,
//! JSON schemas) that all of them use.
//!
//! Field names are camelCase as Google documents them; the snake_case
//! spellings that Google's proto-JSON parser also accepts (and that some
//! Python clients send, e.g. `parameters_json_schema`) are read as aliases.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::canonical::{ConvertError, ImageSource, Part, StopReason, StreamError, TokenUsage};
use crate::dialect::status_kind;

/// `null` where a list is expected.
pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WContent {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub parts: Vec<WPart>,
}

/// One `Part`. Gemini's part is a union (`text`, `inlineData`, ...) plus the
/// `thought` flag and `thoughtSignature`, which may sit on any kind.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WPart {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub thought: Option<bool>,
    #[serde(default, alias = "thought_signature")]
    pub thought_signature: Option<String>,
    #[serde(default, alias = "inline_data")]
    pub inline_data: Option<WBlob>,
    #[serde(default, alias = "file_data")]
    pub file_data: Option<WFileData>,
    #[serde(default, alias = "function_call")]
    pub function_call: Option<WFunctionCall>,
    #[serde(default, alias = "function_response")]
    pub function_response: Option<WFunctionResponse>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WBlob {
    #[serde(default, alias = "mime_type")]
    pub mime_type: String,
    #[serde(default)]
    pub data: String,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WFileData {
    #[serde(default, alias = "file_uri")]
    pub file_uri: String,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WFunctionCall {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub args: Option<Value>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WFunctionResponse {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub response: Option<Value>,
}

/// A `GenerateContentResponse` (also one stream chunk).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WResponse {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub candidates: Vec<WCandidate>,
    #[serde(default, alias = "usage_metadata")]
    pub usage_metadata: Option<WUsage>,
    #[serde(default, alias = "model_version")]
    pub model_version: Option<String>,
    #[serde(default, alias = "response_id")]
    pub response_id: Option<String>,
    /// Vertex only (RFC 3339).
    #[serde(default, alias = "create_time")]
    pub create_time: Option<String>,
    #[serde(default, alias = "prompt_feedback")]
    pub prompt_feedback: Option<WPromptFeedback>,
    /// An error object inside a 200 stream.
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WCandidate {
    #[serde(default)]
    pub content: Option<WContent>,
    #[serde(default, alias = "finish_reason")]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WPromptFeedback {
    #[serde(default, alias = "block_reason")]
    pub block_reason: Option<String>,
}

#[derive(Deserialize, Default, Debug, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WUsage {
    #[serde(default, alias = "prompt_token_count")]
    pub prompt_token_count: u64,
    #[serde(default, alias = "candidates_token_count")]
    pub candidates_token_count: u64,
    #[serde(default, alias = "cached_content_token_count")]
    pub cached_content_token_count: u64,
    #[serde(default, alias = "thoughts_token_count")]
    pub thoughts_token_count: u64,
    #[serde(default, alias = "tool_use_prompt_token_count")]
    pub tool_use_prompt_token_count: u64,
}

impl WUsage {
    /// Prompt (cached included) plus tool-use prompt tokens are input;
    /// candidates plus thoughts are output.
    pub(crate) fn canonical(&self) -> TokenUsage {
        TokenUsage {
            input_tokens: self
                .prompt_token_count
                .saturating_add(self.tool_use_prompt_token_count),
            output_tokens: self
                .candidates_token_count
                .saturating_add(self.thoughts_token_count),
            cached_tokens: self.cached_content_token_count,
            cache_creation_tokens: 0,
            reasoning_tokens: self.thoughts_token_count,
        }
    }
}

/// Canonical usage as `usageMetadata`.
pub(crate) fn usage_json(u: &TokenUsage) -> Value {
    let mut m = Map::new();
    m.insert("promptTokenCount".into(), u.input_tokens.into());
    m.insert(
        "candidatesTokenCount".into(),
        u.output_tokens.saturating_sub(u.reasoning_tokens).into(),
    );
    if u.reasoning_tokens > 0 {
        m.insert("thoughtsTokenCount".into(), u.reasoning_tokens.into());
    }
    if u.cached_tokens > 0 {
        m.insert("cachedContentTokenCount".into(), u.cached_tokens.into());
    }
    m.insert(
        "totalTokenCount".into(),
        u.input_tokens.saturating_add(u.output_tokens).into(),
    );
    Value::Object(m)
}

pub(crate) fn stop_reason_from(s: &str) -> StopReason {
    match s {
        "STOP" => StopReason::Stop,
        "MAX_TOKENS" => StopReason::Length,
        "SAFETY"
        | "RECITATION"
        | "PROHIBITED_CONTENT"
        | "BLOCKLIST"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "MODEL_ARMOR" => StopReason::ContentFilter,
        _ => StopReason::Other,
    }
}

pub(crate) fn stop_reason_to(r: StopReason) -> &'static str {
    match r {
        StopReason::Stop | StopReason::ToolCalls => "STOP",
        StopReason::Length => "MAX_TOKENS",
        StopReason::ContentFilter => "SAFETY",
        StopReason::Other => "OTHER",
    }
}

// ---------------------------------------------------------------------------
// Errors

/// A Google error object (`{"code","message","status"}`) in canonical form.
pub(crate) fn error_from_value(e: &Value, http_status: Option<u16>) -> StreamError {
    let code = e
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    let status = http_status.filter(|s| *s != 0).or(code);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| match status {
            Some(s) => format!("HTTP {s}"),
            None => "upstream error".to_string(),
        });
    let kind = e
        .get("status")
        .and_then(Value::as_str)
        .and_then(kind_from_google_status)
        .unwrap_or_else(|| status_kind(status.unwrap_or(500)));
    StreamError {
        status,
        kind: kind.to_string(),
        message,
    }
}

fn kind_from_google_status(s: &str) -> Option<&'static str> {
    Some(match s {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" | "NOT_FOUND" => {
            "invalid_request_error"
        }
        "UNAUTHENTICATED" => "authentication_error",
        "PERMISSION_DENIED" => "permission_error",
        "RESOURCE_EXHAUSTED" => "rate_limit_error",
        "UNAVAILABLE" => "overloaded_error",
        "INTERNAL" | "UNKNOWN" | "DEADLINE_EXCEEDED" => "api_error",
        _ => return None,
    })
}

/// The Google `status` string for an HTTP status, or from the canonical
/// kind when the status has no standard mapping.
pub(crate) fn google_status(code: u16, kind: &str) -> &'static str {
    match code {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => match kind {
            "invalid_request_error" => "INVALID_ARGUMENT",
            "authentication_error" => "UNAUTHENTICATED",
            "permission_error" => "PERMISSION_DENIED",
            "rate_limit_error" => "RESOURCE_EXHAUSTED",
            "overloaded_error" => "UNAVAILABLE",
            _ => "INTERNAL",
        },
    }
}

/// An HTTP-like code for a canonical error that has none.
pub(crate) fn code_for_kind(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "rate_limit_error" => 429,
        "overloaded_error" => 503,
        _ => 500,
    }
}

pub(crate) fn error_json(code: u16, err: &StreamError) -> Value {
    json!({"error": {
        "code": code,
        "message": err.message,
        "status": google_status(code, &err.kind),
    }})
}

// ---------------------------------------------------------------------------
// Parts: wire -> canonical

/// State kept while decoding the parts of one request or response: the
/// count of function calls (for generated ids), the response's
/// `responseId` (ditto) and the calls that still await a result (to pair
/// id-less `functionResponse`s with their call).
#[derive(Default)]
pub(crate) struct PartDecoder {
    calls: u32,
    response_id: Option<String>,
    pending: Vec<(String, String)>,
}

/// 64-bit FNV-1a over `parts`, each followed by a 0xff separator (a byte
/// UTF-8 text never holds), then MurmurHash3's finaliser so that inputs
/// differing in their last bytes (`resp-1`, `resp-2`) differ in every
/// digit. Stable across platforms and Rust versions, unlike `std`'s hashers.
fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The id made up for the id-less function call number `index` (counted from
/// 0 in its response, stream or request): `call_<hash>_<index>`, the hash
/// taken from the response's `responseId` or, without one, from the call's
/// name, argument text and index. Ids then differ from one answer to the
/// next (Anthropic refuses a history with repeated `tool_use` ids, and
/// clients pair results with calls by id) while the same input always
/// gives the same ids.
pub(crate) fn generated_call_id(
    response_id: Option<&str>,
    name: &str,
    arguments: &str,
    index: u32,
) -> String {
    let hash = match response_id.filter(|r| !r.is_empty()) {
        Some(r) => hash64(&[r.as_bytes()]),
        None => hash64(&[
            name.as_bytes(),
            arguments.as_bytes(),
            index.to_string().as_bytes(),
        ]),
    };
    format!("call_{:012x}_{index}", hash >> 16)
}

/// A signature found on a part that is not itself signed thought text:
/// it closes the unsigned thinking right before it, or stands alone as an
/// empty signed `Thinking` (which the encoder puts back on the next part).
pub(crate) fn attach_signature(out: &mut Vec<Part>, sig: Option<String>) {
    let Some(sig) = sig else { return };
    if let Some(Part::Thinking {
        signature: slot @ None,
        ..
    }) = out.last_mut()
    {
        *slot = Some(sig);
    } else {
        out.push(Part::Thinking {
            text: String::new(),
            signature: Some(sig),
        });
    }
}

/// The arguments object of a function call as JSON text.
pub(crate) fn args_text(args: Option<Value>) -> String {
    match args {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v) => serde_json::to_string(&v).unwrap_or_else(|_| "{}".to_string()),
    }
}

impl PartDecoder {
    /// A decoder for the parts of a response with this `responseId`.
    pub(crate) fn for_response(response_id: Option<&str>) -> Self {
        PartDecoder {
            response_id: response_id.map(str::to_string),
            ..PartDecoder::default()
        }
    }

    /// The id of the next function call: its own, or a generated one (see
    /// [`generated_call_id`]).
    fn call_id(&mut self, id: Option<String>, name: &str, arguments: &str) -> String {
        let id = id.filter(|i| !i.is_empty()).unwrap_or_else(|| {
            generated_call_id(self.response_id.as_deref(), name, arguments, self.calls)
        });
        self.calls += 1;
        self.pending.push((id.clone(), name.to_string()));
        id
    }

    /// The call id a `functionResponse` answers: its own, else the oldest
    /// unanswered call of the same name, else a fresh generated one.
    fn result_id(&mut self, id: Option<String>, name: &str) -> String {
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            if let Some(k) = self.pending.iter().position(|(i, _)| *i == id) {
                self.pending.remove(k);
            }
            return id;
        }
        if let Some(k) = self.pending.iter().position(|(_, n)| n == name) {
            return self.pending.remove(k).0;
        }
        let id = generated_call_id(self.response_id.as_deref(), name, "", self.calls);
        self.calls += 1;
        id
    }

    /// Append the canonical form of one wire part to `out`.
    pub(crate) fn part(&mut self, p: WPart, out: &mut Vec<Part>) {
        let sig = p.thought_signature.filter(|s| !s.is_empty());
        if let Some(fc) = p.function_call {
            attach_signature(out, sig);
            let arguments = args_text(fc.args);
            let id = self.call_id(fc.id, &fc.name, &arguments);
            out.push(Part::ToolCall {
                id,
                name: fc.name,
                arguments,
            });
        } else if let Some(fr) = p.function_response {
            // A signature on a function response has no meaning: dropped.
            let tool_call_id = self.result_id(fr.id, &fr.name);
            let (content, is_error) = response_to_content(fr.response);
            out.push(Part::ToolResult {
                tool_call_id,
                name: Some(fr.name),
                content,
                is_error,
            });
        } else if let Some(b) = p.inline_data {
            attach_signature(out, sig);
            out.push(Part::Image {
                source: ImageSource::Base64 {
                    media_type: b.mime_type,
                    data: b.data,
                },
            });
        } else if let Some(f) = p.file_data {
            attach_signature(out, sig);
            out.push(Part::Image {
                source: ImageSource::Url { url: f.file_uri },
            });
        } else if let Some(text) = p.text {
            if p.thought == Some(true) {
                if text.is_empty() && sig.is_some() {
                    attach_signature(out, sig);
                } else {
                    out.push(Part::Thinking {
                        text,
                        signature: sig,
                    });
                }
            } else {
                attach_signature(out, sig);
                if !text.is_empty() {
                    out.push(Part::Text { text });
                }
            }
        } else {
            // executableCode, codeExecutionResult, videoMetadata, ...: dropped.
            attach_signature(out, sig);
        }
    }
}

/// A `functionResponse.response` object as canonical result content:
/// `{"content": "text"}` / `{"output": "text"}` unwrap to the text,
/// `{"error": ...}` marks an error, anything else is kept as JSON text.
fn response_to_content(resp: Option<Value>) -> (Vec<Part>, bool) {
    let text = |t: String| vec![Part::Text { text: t }];
    match resp {
        None | Some(Value::Null) => (vec![], false),
        Some(Value::Object(m)) if m.is_empty() => (vec![], false),
        Some(Value::Object(m)) if m.len() == 1 => {
            let Some((k, v)) = m.iter().next() else {
                return (vec![], false);
            };
            match (k.as_str(), v) {
                ("content" | "output", Value::String(s)) => (text(s.clone()), false),
                ("error", Value::String(s)) => (text(s.clone()), true),
                ("error", v) => (text(v.to_string()), true),
                _ => (text(Value::Object(m).to_string()), false),
            }
        }
        Some(v) => (text(v.to_string()), false),
    }
}

/// Canonical result content as a `functionResponse.response` object.
fn content_to_response(content: &[Part], is_error: bool) -> Value {
    let texts: Vec<&str> = content
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if texts.is_empty() && !is_error {
        return json!({});
    }
    let text = texts.join("\n");
    let parsed = serde_json::from_str::<Value>(&text)
        .ok()
        .filter(Value::is_object);
    match (is_error, parsed) {
        (true, Some(obj)) => json!({ "error": obj }),
        (true, None) => json!({ "error": text }),
        (false, Some(obj)) => obj,
        (false, None) => json!({ "content": text }),
    }
}

// ---------------------------------------------------------------------------
// Parts: canonical -> wire

/// How strictly canonical parts are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Requests to a provider: unusable tool arguments or an unnamed tool
    /// result are a [`ConvertError`].
    Request,
    /// Responses and streams to a client: never fail, write what we can.
    Lenient,
}

/// Tool-call arguments as the `args` object.
pub(crate) fn args_value(
    arguments: &str,
    mode: Strictness,
    path: &str,
) -> Result<Value, ConvertError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(v) if mode == Strictness::Lenient => Ok(v),
        Ok(_) => Err(ConvertError::new(
            path,
            "tool call arguments must be a JSON object for Gemini",
        )),
        Err(_) if mode == Strictness::Lenient => Ok(json!({})),
        Err(e) => Err(ConvertError::new(
            path,
            format!("tool call arguments are not valid JSON: {e}"),
        )),
    }
}

fn with_signature(mut part: Map<String, Value>, sig: Option<String>) -> Value {
    if let Some(s) = sig {
        part.insert("thoughtSignature".into(), s.into());
    }
    Value::Object(part)
}

fn image_part(source: &ImageSource) -> Value {
    let source = match source {
        ImageSource::Url { url } if url.starts_with("data:") => {
            ImageSource::from_data_url(url).unwrap_or_else(|| source.clone())
        }
        s => s.clone(),
    };
    match source {
        ImageSource::Base64 { media_type, data } => {
            json!({"inlineData": {"mimeType": media_type, "data": data}})
        }
        ImageSource::Url { url } => {
            let mut fd = Map::new();
            if let Some(m) = guess_mime(&url) {
                fd.insert("mimeType".into(), m.into());
            }
            fd.insert("fileUri".into(), url.into());
            json!({ "fileData": fd })
        }
    }
}

/// `fileData.mimeType` is required by Vertex; canonical URLs carry none.
fn guess_mime(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let path = lower.split(['?', '#']).next().unwrap_or(&lower);
    if path.contains("youtube.com/") || path.contains("youtu.be/") {
        return Some("video/mp4");
    }
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "txt" => "text/plain",
        _ => return None,
    })
}

/// Write one message's canonical parts as Gemini parts.
///
/// A signed `Thinking` directly followed by text or a tool call gives its
/// signature to that part (where Gemini puts it, and where Gemini 3
/// requires it for function calls); otherwise the signature stays on the
/// thought part. `tool_name` finds the function name of a result that has
/// none, from the call with the same id.
pub(crate) fn encode_parts(
    parts: &[Part],
    path: &str,
    mode: Strictness,
    tool_name: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Value>, ConvertError> {
    let mut out = Vec::with_capacity(parts.len());
    let mut pending_sig: Option<String> = None;
    for (j, p) in parts.iter().enumerate() {
        let ppath = format!("{path}.content[{j}]");
        match p {
            Part::Thinking { text, signature } => {
                let next_takes_sig = matches!(
                    parts.get(j + 1),
                    Some(Part::Text { .. } | Part::ToolCall { .. })
                );
                if let Some(old) = pending_sig.take() {
                    out.push(json!({"text": "", "thought": true, "thoughtSignature": old}));
                }
                let mut m = Map::new();
                m.insert("text".into(), text.clone().into());
                m.insert("thought".into(), true.into());
                if signature.is_some() && next_takes_sig {
                    pending_sig = signature.clone();
                    if !text.is_empty() {
                        out.push(Value::Object(m));
                    }
                } else {
                    out.push(with_signature(m, signature.clone()));
                }
            }
            Part::Text { text } => {
                let mut m = Map::new();
                m.insert("text".into(), text.clone().into());
                out.push(with_signature(m, pending_sig.take()));
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                let mut fc = Map::new();
                if !id.is_empty() {
                    fc.insert("id".into(), id.clone().into());
                }
                fc.insert("name".into(), name.clone().into());
                fc.insert("args".into(), args_value(arguments, mode, &ppath)?);
                let mut m = Map::new();
                m.insert("functionCall".into(), Value::Object(fc));
                out.push(with_signature(m, pending_sig.take()));
            }
            Part::ToolResult {
                tool_call_id,
                name,
                content,
                is_error,
            } => {
                let name = match name.clone().or_else(|| tool_name(tool_call_id)) {
                    Some(n) => n,
                    None if mode == Strictness::Lenient => String::new(),
                    None => {
                        return Err(ConvertError::new(
                            ppath,
                            format!(
                                "tool result for call {tool_call_id:?} has no function name and no earlier call with that id; Gemini needs the name"
                            ),
                        ));
                    }
                };
                let mut fr = Map::new();
                if !tool_call_id.is_empty() {
                    fr.insert("id".into(), tool_call_id.clone().into());
                }
                fr.insert("name".into(), name.into());
                fr.insert("response".into(), content_to_response(content, *is_error));
                out.push(json!({ "functionResponse": fr }));
                // Gemini results carry no images: they follow as parts.
                for c in content {
                    if let Part::Image { source } = c {
                        out.push(image_part(source));
                    }
                }
            }
            Part::Image { source } => out.push(image_part(source)),
            // Another provider's encrypted reasoning: nothing Gemini reads.
            Part::RedactedThinking { .. } => {}
        }
    }
    if let Some(sig) = pending_sig {
        out.push(json!({"text": "", "thought": true, "thoughtSignature": sig}));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// JSON schemas

/// Keys of Gemini's `Schema` (an OpenAPI 3.0 subset) that are copied as is.
const SCHEMA_KEYS: &[&str] = &[
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "propertyOrdering",
    "default",
    "minimum",
    "maximum",
];

/// Bounds on `$ref` expansion: nesting (recursive schemas) and the total
/// number of expansions (schemas that reference a definition many times).
const MAX_REF_DEPTH: usize = 8;
const MAX_REF_EXPANSIONS: usize = 256;

struct Refs {
    defs: Map<String, Value>,
    budget: std::cell::Cell<usize>,
}

/// A canonical JSON Schema as a Gemini `Schema` (for function `parameters`
/// and `responseSchema`): keys Gemini rejects (`$schema`,
/// `additionalProperties`, `strict`, `$id`, `examples`, `not`, ...) are
/// dropped, `type` is upper-cased, `["T","null"]` becomes `T` + `nullable`,
/// `oneOf` becomes `anyOf`, `const` becomes a one-value `enum`, `allOf`
/// branches are merged and local `$ref`s are expanded from `$defs` /
/// `definitions` (a reference too deep or unresolvable becomes a bare
/// `OBJECT`).
pub(crate) fn to_gemini_schema(schema: &Value) -> Value {
    let mut defs = Map::new();
    for key in ["definitions", "$defs"] {
        if let Some(Value::Object(d)) = schema.get(key) {
            for (k, v) in d {
                defs.insert(format!("#/{key}/{k}"), v.clone());
            }
        }
    }
    let refs = Refs {
        defs,
        budget: std::cell::Cell::new(MAX_REF_EXPANSIONS),
    };
    convert_schema(schema, &refs, 0)
}

fn convert_schema(v: &Value, refs: &Refs, depth: usize) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
        let left = refs.budget.get();
        let target = match refs.defs.get(r) {
            Some(t) if depth < MAX_REF_DEPTH && left > 0 => {
                refs.budget.set(left - 1);
                Some(convert_schema(t, refs, depth + 1))
            }
            _ => None,
        };
        match target {
            Some(Value::Object(t)) => out = t,
            _ => {
                out.insert("type".into(), "OBJECT".into());
            }
        }
    }
    for (k, val) in m {
        match k.as_str() {
            "type" => match val {
                Value::String(s) => {
                    out.insert("type".into(), s.to_ascii_uppercase().into());
                }
                Value::Array(types) => {
                    let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                    let non_null: Vec<&str> =
                        names.iter().copied().filter(|t| *t != "null").collect();
                    if non_null.len() < names.len() {
                        out.insert("nullable".into(), true.into());
                    }
                    match non_null.as_slice() {
                        [] => {
                            out.insert("type".into(), "NULL".into());
                        }
                        [one] => {
                            out.insert("type".into(), one.to_ascii_uppercase().into());
                        }
                        many => {
                            let any: Vec<Value> = many
                                .iter()
                                .map(|t| json!({"type": t.to_ascii_uppercase()}))
                                .collect();
                            out.insert("anyOf".into(), Value::Array(any));
                        }
                    }
                }
                _ => {}
            },
            "properties" => {
                if let Value::Object(props) = val {
                    let props: Map<String, Value> = props
                        .iter()
                        .map(|(name, s)| (name.clone(), convert_schema(s, refs, depth)))
                        .collect();
                    out.insert("properties".into(), Value::Object(props));
                }
            }
            "items" => {
                let item = match val {
                    Value::Array(a) => a.first(),
                    v => Some(v),
                };
                if let Some(item) = item {
                    out.insert("items".into(), convert_schema(item, refs, depth));
                }
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(a) = val {
                    let any: Vec<Value> =
                        a.iter().map(|s| convert_schema(s, refs, depth)).collect();
                    out.insert("anyOf".into(), Value::Array(any));
                }
            }
            "allOf" => {
                if let Value::Array(a) = val {
                    for s in a {
                        if let Value::Object(branch) = convert_schema(s, refs, depth) {
                            for (bk, bv) in branch {
                                out.entry(bk).or_insert(bv);
                            }
                        }
                    }
                }
            }
            "const" => {
                out.entry("enum").or_insert_with(|| json!([val]));
            }
            k if SCHEMA_KEYS.contains(&k) => {
                out.insert(k.to_string(), val.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// A Gemini `Schema` as canonical JSON Schema: `type` values lower-cased
/// (`OBJECT` -> `object`); everything else is kept.
pub(crate) fn from_gemini_schema(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, val) in m {
        let val = match (k.as_str(), val) {
            ("type", Value::String(s)) => Value::String(s.to_ascii_lowercase()),
            ("properties", Value::Object(props)) => Value::Object(
                props
                    .iter()
                    .map(|(n, s)| (n.clone(), from_gemini_schema(s)))
                    .collect(),
            ),
            ("items", s) => from_gemini_schema(s),
            ("anyOf", Value::Array(a)) => Value::Array(a.iter().map(from_gemini_schema).collect()),
            _ => val.clone(),
        };
        out.insert(k.clone(), val);
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------
// Timestamps (Vertex `createTime`)

/// RFC 3339 (`2025-06-27T08:48:21.154666Z`, or with an offset) to Unix
/// seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let oh: i64 = o.get(1..3)?.parse().ok()?;
            let om: i64 = o.get(4..6)?.parse().ok()?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    u64::try_from(secs).ok()
}

/// Unix seconds as RFC 3339 UTC (`2025-06-27T08:48:21Z`).
pub(crate) fn format_rfc3339(t: u64) -> String {
    let days = i64::try_from(t / 86_400).unwrap_or(0);
    let rem = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}
