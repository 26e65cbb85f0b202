//! The canonical chat model: the hub every dialect converts to and from.
//!
//! Dialects (OpenAI chat, Anthropic Messages, Gemini, Bedrock Converse) are
//! spokes: each converts its own wire format into these types and back, so
//! N dialects need 2N conversions, not N². Nothing here knows any wire
//! format. The types derive `Serialize`/`Deserialize` so that conversion
//! tests can snapshot them.
//!
//! Conventions:
//! - Tool-call arguments are kept as the JSON *text* the model produced
//!   (`arguments`), because streams deliver them as fragments and some
//!   models emit invalid JSON; parsing is left to the dialect that needs an
//!   object.
//! - System prompts are their own list (`system`), not messages, since two of
//!   the four dialects keep them apart.
//! - Anything a target cannot express is either dropped (listed in the
//!   dialect's docs) or a [`ConvertError`] that says why; never corrupted.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    /// System / developer instructions, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// OpenAI-only sampling knobs, dropped by targets without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// End-user id for abuse tracking (`user`, Anthropic `metadata.user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    /// Results of tool calls. Dialects that carry tool results inside user
    /// messages (Anthropic, Gemini, Bedrock) map them to and from this.
    Tool,
    /// A system instruction in the middle of the conversation (Anthropic's
    /// `{"role": "system"}` message, sent by Claude Code with the
    /// `mid-conversation-system` beta). Its text parts apply from where it
    /// stands. Targets with no such role fold it into
    /// [`ChatRequest::system`] ([`ChatRequest::fold_system_messages`]).
    System,
}

impl ChatRequest {
    /// This request with every [`Role::System`] message moved to the end of
    /// [`ChatRequest::system`], in order (its text parts joined by a blank
    /// line), for targets whose wire format has system instructions only
    /// at the top (Anthropic without the beta, Gemini, Bedrock). Folding
    /// keeps the instruction's authority and leaves the user/assistant
    /// turns as they were (no role alternation broken, an assistant
    /// prefill still last); only its position is lost. Borrowed when
    /// there is nothing to fold.
    pub fn fold_system_messages(&self) -> std::borrow::Cow<'_, ChatRequest> {
        if !self.messages.iter().any(|m| m.role == Role::System) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut out = self.clone();
        let mut messages = Vec::with_capacity(out.messages.len());
        for m in std::mem::take(&mut out.messages) {
            if m.role != Role::System {
                messages.push(m);
                continue;
            }
            let text = m
                .content
                .iter()
                .filter_map(|p| match p {
                    Part::Text { text } if !text.is_empty() => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n\n");
            if !text.is_empty() {
                out.system.push(text);
            }
        }
        out.messages = messages;
        std::borrow::Cow::Owned(out)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    Image {
        source: ImageSource,
    },
    /// A call the assistant made.
    ToolCall {
        id: String,
        name: String,
        /// JSON text of the arguments (`"{}"` when there are none).
        arguments: String,
    },
    /// The result of a call, sent back by the client.
    ToolResult {
        tool_call_id: String,
        /// Gemini and Bedrock name the function in the result as well.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        content: Vec<Part>,
        #[serde(default)]
        is_error: bool,
    },
    /// Model reasoning ("thinking"), with the provider's signature if any,
    /// which must be sent back unchanged in later turns.
    Thinking {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// Reasoning the provider returned encrypted.
    RedactedThinking {
        data: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageSource {
    Url { url: String },
    Base64 { media_type: String, data: String },
}

impl ImageSource {
    /// Parse a `data:<media type>;base64,<data>` URL.
    pub fn from_data_url(url: &str) -> Option<ImageSource> {
        let rest = url.strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        let media_type = meta.strip_suffix(";base64")?;
        Some(ImageSource::Base64 {
            media_type: media_type.to_string(),
            data: data.to_string(),
        })
    }

    /// As a URL: itself, or a `data:` URL for inline data.
    pub fn to_url(&self) -> String {
        match self {
            ImageSource::Url { url } => url.clone(),
            ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", content = "name", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    None,
    /// Must call some tool.
    Required,
    /// Must call this tool.
    Tool(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reasoning {
    /// OpenAI-style effort: `minimal`, `low`, `medium`, `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// Anthropic/Gemini-style token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
}

impl Reasoning {
    /// A budget for dialects that want tokens, from an effort if needed.
    pub fn budget(&self) -> Option<u32> {
        self.budget_tokens.or_else(|| {
            Some(match self.effort.as_deref()? {
                "minimal" => 1024,
                "low" => 2048,
                "medium" => 8192,
                "high" => 24576,
                _ => return None,
            })
        })
    }

    /// An effort for dialects that want one, from a budget if needed.
    pub fn effort(&self) -> Option<String> {
        self.effort.clone().or_else(|| {
            let b = self.budget_tokens?;
            Some(
                match b {
                    0..=1500 => "minimal",
                    1501..=4096 => "low",
                    4097..=16384 => "medium",
                    _ => "high",
                }
                .to_string(),
            )
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Natural end, or a stop sequence.
    Stop,
    /// `max_tokens` reached.
    Length,
    ToolCalls,
    ContentFilter,
    /// Anthropic `pause_turn`, refusals and other ends with no equivalent.
    Other,
}

/// Token counts; every field is optional on the wire, zero when absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// All input tokens, cached ones included.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's cache (a subset of input).
    #[serde(default)]
    pub cached_tokens: u64,
    /// Input tokens written to the cache (Anthropic, Bedrock).
    #[serde(default)]
    pub cache_creation_tokens: u64,
    /// Output tokens spent on reasoning (a subset of output).
    #[serde(default)]
    pub reasoning_tokens: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: String,
    pub model: String,
    /// Unix seconds.
    pub created: u64,
    pub content: Vec<Part>,
    pub stop_reason: StopReason,
    pub usage: TokenUsage,
}

/// One step of a streamed answer, dialect-neutral. Encoders keep whatever
/// state their dialect needs (open content blocks, tool indexes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The answer begins. Usage may already know the input tokens.
    Start {
        id: String,
        model: String,
        created: u64,
        #[serde(default)]
        usage: TokenUsage,
    },
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        text: String,
    },
    ThinkingSignature {
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    /// A new tool call; `index` counts tool calls from 0 within the answer.
    ToolCallStart {
        index: u32,
        id: String,
        name: String,
    },
    /// A fragment of the arguments' JSON text of call `index`.
    ToolCallDelta {
        index: u32,
        arguments: String,
    },
    /// Why generation ended; usage follows or has come.
    Finish {
        reason: StopReason,
    },
    /// Cumulative usage (later events replace earlier ones).
    Usage {
        usage: TokenUsage,
    },
    /// The provider reported an error inside the stream.
    Error {
        error: StreamError,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamError {
    /// An HTTP-like status when known (e.g. 429, 500, 529 overloaded).
    pub status: Option<u16>,
    /// `rate_limit_error`, `overloaded_error`, `invalid_request_error`, ...
    pub kind: String,
    pub message: String,
}

/// A request or response that cannot be expressed in the target dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    /// The field at fault, e.g. `messages[2].content[0]`.
    pub path: String,
    pub message: String,
}

impl ConvertError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConvertError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A stream whose event outgrew the parser's bound.
impl From<crate::sse::EventTooLarge> for ConvertError {
    fn from(e: crate::sse::EventTooLarge) -> Self {
        ConvertError::new("stream", e.to_string())
    }
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConvertError {}

/// Assemble a complete response from stream events (for tests, and for
/// clients that want a non-streamed answer from a streamed upstream).
#[derive(Debug, Default)]
pub struct StreamCollector {
    pub id: String,
    pub model: String,
    pub created: u64,
    content: Vec<Part>,
    tool_slots: Vec<(u32, usize)>,
    stop_reason: Option<StopReason>,
    usage: TokenUsage,
    pub error: Option<StreamError>,
}

impl StreamCollector {
    pub fn push(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::Start {
                id,
                model,
                created,
                usage,
            } => {
                self.id = id.clone();
                self.model = model.clone();
                self.created = *created;
                self.usage = *usage;
            }
            StreamEvent::TextDelta { text } => match self.content.last_mut() {
                Some(Part::Text { text: t }) => t.push_str(text),
                _ => self.content.push(Part::Text { text: text.clone() }),
            },
            StreamEvent::ThinkingDelta { text } => match self.content.last_mut() {
                Some(Part::Thinking {
                    text: t,
                    signature: None,
                }) => t.push_str(text),
                _ => self.content.push(Part::Thinking {
                    text: text.clone(),
                    signature: None,
                }),
            },
            StreamEvent::ThinkingSignature { signature } => {
                if let Some(Part::Thinking { signature: s, .. }) = self.content.last_mut() {
                    *s = Some(signature.clone());
                } else {
                    self.content.push(Part::Thinking {
                        text: String::new(),
                        signature: Some(signature.clone()),
                    });
                }
            }
            StreamEvent::RedactedThinking { data } => self
                .content
                .push(Part::RedactedThinking { data: data.clone() }),
            StreamEvent::ToolCallStart { index, id, name } => {
                self.tool_slots.push((*index, self.content.len()));
                self.content.push(Part::ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                });
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if let Some((_, slot)) = self.tool_slots.iter().find(|(i, _)| i == index)
                    && let Some(Part::ToolCall { arguments: a, .. }) = self.content.get_mut(*slot)
                {
                    a.push_str(arguments);
                }
            }
            StreamEvent::Finish { reason } => self.stop_reason = Some(*reason),
            StreamEvent::Usage { usage } => self.usage = *usage,
            StreamEvent::Error { error } => self.error = Some(error.clone()),
        }
    }

    pub fn finish(mut self) -> ChatResponse {
        for p in &mut self.content {
            if let Part::ToolCall { arguments, .. } = p
                && arguments.is_empty()
            {
                arguments.push_str("{}");
            }
        }
        ChatResponse {
            id: self.id,
            model: self.model,
            created: self.created,
            content: self.content,
            stop_reason: self.stop_reason.unwrap_or(StopReason::Stop),
            usage: self.usage,
        }
    }
}
