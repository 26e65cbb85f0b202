//! Anthropic wire shapes shared by requests, responses and streams.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::canonical::{ConvertError, ImageSource, TokenUsage};

/// A content block as read from the wire. Every field is optional so that
/// one shape reads all block types; fields whose type varies between block
/// types (`content`, `input`, `source`) are kept unparsed.
#[derive(Deserialize, Debug, Default)]
pub(super) struct WireBlock {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub source: Option<Value>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub input: Option<Box<RawValue>>,
    #[serde(default)]
    pub tool_use_id: Option<String>,
    #[serde(default)]
    pub content: Option<Box<RawValue>>,
    #[serde(default)]
    pub is_error: Option<bool>,
    #[serde(default)]
    pub thinking: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub data: Option<String>,
}

/// Just the `type` of an object, to decide how to read the rest.
#[derive(Deserialize)]
pub(super) struct TypeOnly {
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// Server-side tool blocks (and other assistant-only blocks the canonical
/// model has no place for): skipped wherever they appear in model output.
pub(super) fn is_server_block(kind: &str) -> bool {
    kind == "server_tool_use"
        || kind == "mcp_tool_use"
        || kind == "mcp_tool_result"
        || kind == "container_upload"
        || (kind.ends_with("_tool_result") && kind != "tool_result")
}

/// A `content` (message or tool result) that is a string or a block list.
pub(super) enum Content {
    Text(String),
    Blocks(Vec<WireBlock>),
}

pub(super) fn parse_content(raw: &RawValue, path: &str) -> Result<Content, ConvertError> {
    let s = raw.get().trim_start();
    let bad = |e: serde_json::Error| ConvertError::new(path, format!("invalid content: {e}"));
    if s.starts_with('"') {
        serde_json::from_str::<String>(s)
            .map(Content::Text)
            .map_err(bad)
    } else if s.starts_with("null") {
        Ok(Content::Blocks(Vec::new()))
    } else {
        serde_json::from_str::<Vec<WireBlock>>(s)
            .map(Content::Blocks)
            .map_err(bad)
    }
}

pub(super) fn image_source(
    source: Option<&Value>,
    path: &str,
) -> Result<ImageSource, ConvertError> {
    let path = format!("{path}.source");
    let Some(src) = source else {
        return Err(ConvertError::new(path, "image without a source"));
    };
    let field = |name: &str| {
        src.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ConvertError::new(path.clone(), format!("missing `{name}`")))
    };
    match src.get("type").and_then(Value::as_str) {
        Some("base64") => Ok(ImageSource::Base64 {
            media_type: field("media_type")?,
            data: field("data")?,
        }),
        Some("url") => Ok(ImageSource::Url { url: field("url")? }),
        Some(other) => Err(ConvertError::new(
            path.clone(),
            format!("image source type `{other}` cannot be translated"),
        )),
        None => Err(ConvertError::new(
            path.clone(),
            "image source without a type",
        )),
    }
}

/// Anthropic usage; every field optional so that `message_delta` can
/// update only what it carries.
#[derive(Deserialize, Default, Clone, Copy, Debug)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
}

impl WireUsage {
    pub(super) fn merge(&mut self, later: &WireUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
    }

    pub(super) fn canonical(&self) -> TokenUsage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let creation = self.cache_creation_input_tokens.unwrap_or(0);
        TokenUsage {
            input_tokens: self
                .input_tokens
                .unwrap_or(0)
                .saturating_add(read)
                .saturating_add(creation),
            output_tokens: self.output_tokens.unwrap_or(0),
            cached_tokens: read,
            cache_creation_tokens: creation,
            reasoning_tokens: 0,
        }
    }
}

/// Usage as written to a Claude client.
#[derive(Serialize, Debug)]
pub(super) struct OutUsage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
}

impl From<&TokenUsage> for OutUsage {
    fn from(u: &TokenUsage) -> Self {
        OutUsage {
            input_tokens: u
                .input_tokens
                .saturating_sub(u.cached_tokens)
                .saturating_sub(u.cache_creation_tokens),
            cache_creation_input_tokens: u.cache_creation_tokens,
            cache_read_input_tokens: u.cached_tokens,
            output_tokens: u.output_tokens,
        }
    }
}

/// A content block as written.
#[derive(Serialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum OutBlock<'a> {
    Text {
        text: &'a str,
    },
    Image {
        source: OutImageSource,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: OutInput,
    },
    ToolResult {
        tool_use_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<OutToolContent<'a>>,
        #[serde(skip_serializing_if = "is_false")]
        is_error: bool,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum OutImageSource {
    Base64 { media_type: String, data: String },
    Url { url: String },
}

impl From<&ImageSource> for OutImageSource {
    fn from(s: &ImageSource) -> Self {
        match s {
            ImageSource::Base64 { media_type, data } => OutImageSource::Base64 {
                media_type: media_type.clone(),
                data: data.clone(),
            },
            ImageSource::Url { url } => match ImageSource::from_data_url(url) {
                Some(ImageSource::Base64 { media_type, data }) => {
                    OutImageSource::Base64 { media_type, data }
                }
                _ => OutImageSource::Url { url: url.clone() },
            },
        }
    }
}

#[derive(Serialize, Debug)]
#[serde(untagged)]
pub(super) enum OutToolContent<'a> {
    Text(&'a str),
    Blocks(Vec<OutBlock<'a>>),
}

/// A `tool_use` input: the arguments' JSON text as it is, or `{}`.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub(super) enum OutInput {
    Raw(Box<RawValue>),
    Empty(Map<String, Value>),
}

/// Canonical arguments text to a `tool_use` input, which must be an object.
pub(super) fn tool_input(arguments: &str) -> Result<OutInput, String> {
    let t = arguments.trim();
    if t.is_empty() {
        return Ok(OutInput::Empty(Map::new()));
    }
    let raw: Box<RawValue> =
        serde_json::from_str(t).map_err(|e| format!("arguments are not valid JSON: {e}"))?;
    if raw.get().starts_with('{') {
        Ok(OutInput::Raw(raw))
    } else {
        Err("arguments must be a JSON object".to_string())
    }
}

/// A `tool_use` input as canonical arguments text: compact, key order kept.
pub(super) fn arguments_text(input: Option<&RawValue>) -> String {
    match input {
        None => "{}".to_string(),
        Some(raw) => {
            let s = compact_json(raw.get());
            if s.is_empty() || s == "null" {
                "{}".to_string()
            } else {
                s
            }
        }
    }
}

/// Remove insignificant whitespace from (valid) JSON text.
pub(super) fn compact_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    out
}

/// The HTTP status Anthropic uses for an error type.
pub(super) fn status_for_kind(kind: &str) -> Option<u16> {
    Some(match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => return None,
    })
}

/// Anthropic's error type for a status.
pub(super) fn kind_for_status(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 | 503 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}
