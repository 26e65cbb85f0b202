//! Anthropic Messages request bodies to canonical: the request's wire types
//! and the conversion of its system prompt, messages, content blocks, tools
//! and settings.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::anthropic::wire::{
    Content, WireBlock, arguments_text, image_source, is_server_block, parse_content,
};
use crate::canonical::{
    ChatRequest, ConvertError, Message, Part, Reasoning, ResponseFormat, Role, Tool, ToolChoice,
};

#[derive(Deserialize)]
struct WireRequest {
    model: String,
    messages: Vec<WireMessage>,
    #[serde(default)]
    system: Option<Box<RawValue>>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    top_k: Option<u32>,
    #[serde(default)]
    stop_sequences: Option<Vec<String>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    tools: Option<Vec<WireTool>>,
    #[serde(default)]
    tool_choice: Option<WireToolChoice>,
    #[serde(default)]
    thinking: Option<WireThinking>,
    #[serde(default)]
    metadata: Option<WireMetadata>,
    #[serde(default)]
    output_config: Option<WireOutputConfig>,
    /// The structured-outputs beta's spelling of `output_config.format`.
    #[serde(default)]
    output_format: Option<WireFormat>,
}

#[derive(Deserialize)]
struct WireMessage {
    role: String,
    content: Box<RawValue>,
}

/// The deferred tool Claude Code declares to keep tool search on.
const DEFERRED_PLACEHOLDER: &str = "DeferredToolPlaceholder";

#[derive(Deserialize)]
struct WireTool {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<Value>,
    /// Tool search: the tool is loaded into the model's context only when a
    /// search finds it.
    #[serde(default)]
    defer_loading: Option<bool>,
}

#[derive(Deserialize)]
struct WireToolChoice {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    disable_parallel_tool_use: Option<bool>,
}

#[derive(Deserialize)]
struct WireThinking {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    budget_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct WireMetadata {
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct WireOutputConfig {
    #[serde(default)]
    format: Option<WireFormat>,
    #[serde(default)]
    effort: Option<String>,
}

#[derive(Deserialize)]
struct WireFormat {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    schema: Option<Value>,
}

/// A client's `POST /v1/messages` body to canonical.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, ConvertError> {
    let w: WireRequest = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid request body: {e}")))?;

    let system = match &w.system {
        None => Vec::new(),
        Some(raw) => match parse_content(raw, "system")? {
            Content::Text(t) => {
                if t.is_empty() {
                    Vec::new()
                } else {
                    vec![t]
                }
            }
            Content::Blocks(blocks) => {
                let mut out = Vec::new();
                for (j, b) in blocks.into_iter().enumerate() {
                    if b.kind != "text" {
                        return Err(ConvertError::new(
                            format!("system[{j}]"),
                            format!(
                                "`{}` blocks in the system prompt cannot be translated",
                                b.kind
                            ),
                        ));
                    }
                    if let Some(t) = b.text.filter(|t| !t.is_empty()) {
                        out.push(t);
                    }
                }
                out
            }
        },
    };

    // Tool names by call id, so that results can name their function.
    let mut call_names: Vec<(String, String)> = Vec::new();
    let mut messages = Vec::new();
    for (i, m) in w.messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let blocks = match parse_content(&m.content, &format!("{path}.content"))? {
            Content::Text(t) => {
                let mut b = WireBlock {
                    kind: "text".into(),
                    ..WireBlock::default()
                };
                b.text = Some(t);
                vec![b]
            }
            Content::Blocks(b) => b,
        };
        match m.role.as_str() {
            "assistant" => {
                let mut content = Vec::new();
                for (j, b) in blocks.into_iter().enumerate() {
                    let p = format!("{path}.content[{j}]");
                    if let Some(part) = assistant_part(b, &p)? {
                        if let Part::ToolCall { id, name, .. } = &part {
                            call_names.push((id.clone(), name.clone()));
                        }
                        content.push(part);
                    }
                }
                messages.push(Message {
                    role: Role::Assistant,
                    content,
                });
            }
            "user" => {
                let mut results = Vec::new();
                let mut rest = Vec::new();
                for (j, b) in blocks.into_iter().enumerate() {
                    let p = format!("{path}.content[{j}]");
                    if b.kind == "tool_result" {
                        results.push(tool_result(b, &p, &call_names)?);
                    } else if let Some(part) = user_part(b, &p)? {
                        rest.push(part);
                    }
                }
                let had_results = !results.is_empty();
                if had_results {
                    messages.push(Message {
                        role: Role::Tool,
                        content: results,
                    });
                }
                if !rest.is_empty() || !had_results {
                    messages.push(Message {
                        role: Role::User,
                        content: rest,
                    });
                }
            }
            "system" => {
                // Mid-conversation system instructions (Claude Code's
                // `mid-conversation-system` beta): text only.
                let mut content = Vec::new();
                for (j, b) in blocks.into_iter().enumerate() {
                    if b.kind != "text" {
                        return Err(ConvertError::new(
                            format!("{path}.content[{j}]"),
                            format!(
                                "`{}` blocks in a system message cannot be translated; system messages carry text only",
                                b.kind
                            ),
                        ));
                    }
                    if let Some(t) = b.text.filter(|t| !t.is_empty()) {
                        content.push(Part::Text { text: t });
                    }
                }
                messages.push(Message {
                    role: Role::System,
                    content,
                });
            }
            other => {
                return Err(ConvertError::new(
                    format!("{path}.role"),
                    format!("unknown role `{other}` (expected `user`, `assistant` or `system`)"),
                ));
            }
        }
    }

    // Built-in (server) tools have a `type` and no `input_schema`: dropped.
    // Deferred tools (`defer_loading: true`) are offered directly, since no
    // other provider can search for them; but Claude Code's deferred
    // `DeferredToolPlaceholder` ("never call this tool", declared only to keep
    // tool search on) is left out, or a model could call it.
    let tools: Vec<Tool> = w
        .tools
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !(t.defer_loading == Some(true) && t.name == DEFERRED_PLACEHOLDER))
        .filter_map(|t| {
            t.input_schema.map(|schema| Tool {
                name: t.name,
                description: t.description,
                parameters: schema,
            })
        })
        .collect();

    let mut parallel_tool_calls = None;
    let tool_choice = match w.tool_choice {
        None => None,
        Some(c) => {
            parallel_tool_calls = c.disable_parallel_tool_use.map(|d| !d);
            match c.kind.as_str() {
                "auto" => Some(ToolChoice::Auto),
                "any" => Some(ToolChoice::Required),
                "none" => Some(ToolChoice::None),
                "tool" => {
                    let name = c.name.unwrap_or_default();
                    // A built-in tool that was dropped cannot be forced.
                    if tools.iter().any(|t| t.name == name) {
                        Some(ToolChoice::Tool(name))
                    } else {
                        None
                    }
                }
                other => {
                    return Err(ConvertError::new(
                        "tool_choice.type",
                        format!("unknown tool_choice `{other}`"),
                    ));
                }
            }
        }
    };
    let tool_choice = if tools.is_empty() { None } else { tool_choice };
    if tools.is_empty() {
        parallel_tool_calls = None;
    }

    let (format, effort) = match w.output_config {
        Some(c) => (c.format, c.effort),
        None => (None, None),
    };
    let response_format = match format.or(w.output_format) {
        Some(f) if f.kind == "json_schema" => Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: f.schema.unwrap_or_else(|| json!({"type": "object"})),
            strict: None,
        }),
        _ => None,
    };

    let reasoning = match w.thinking {
        Some(t) if t.kind == "enabled" => Some(Reasoning {
            effort: None,
            budget_tokens: t.budget_tokens,
        }),
        Some(t) if t.kind == "adaptive" => Some(Reasoning {
            effort: Some(
                match effort.as_deref() {
                    Some("low") => "low",
                    Some("medium") => "medium",
                    _ => "high",
                }
                .to_string(),
            ),
            budget_tokens: None,
        }),
        _ => None,
    };

    Ok(ChatRequest {
        model: w.model,
        system,
        messages,
        max_tokens: w.max_tokens,
        temperature: w.temperature,
        top_p: w.top_p,
        top_k: w.top_k,
        stop: w.stop_sequences.unwrap_or_default(),
        stream: w.stream.unwrap_or(false),
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format,
        reasoning,
        presence_penalty: None,
        frequency_penalty: None,
        seed: None,
        user: w.metadata.and_then(|m| m.user_id),
    })
}

fn unsupported(kind: &str, path: &str) -> ConvertError {
    ConvertError::new(
        path,
        format!("`{kind}` content blocks cannot be translated to other providers"),
    )
}

fn text_part(b: WireBlock) -> Option<Part> {
    b.text
        .filter(|t| !t.is_empty())
        .map(|text| Part::Text { text })
}

fn assistant_part(b: WireBlock, path: &str) -> Result<Option<Part>, ConvertError> {
    Ok(match b.kind.as_str() {
        "text" => text_part(b),
        "tool_use" => Some(Part::ToolCall {
            arguments: arguments_text(b.input.as_deref()),
            id: b.id.unwrap_or_default(),
            name: b.name.unwrap_or_default(),
        }),
        "thinking" => Some(Part::Thinking {
            text: b.thinking.unwrap_or_default(),
            signature: b.signature.filter(|s| !s.is_empty()),
        }),
        "redacted_thinking" => Some(Part::RedactedThinking {
            data: b.data.unwrap_or_default(),
        }),
        "image" => {
            return Err(ConvertError::new(
                path,
                "images are not allowed in assistant messages",
            ));
        }
        k if is_server_block(k) => None,
        k => return Err(unsupported(k, path)),
    })
}

fn user_part(b: WireBlock, path: &str) -> Result<Option<Part>, ConvertError> {
    Ok(match b.kind.as_str() {
        "text" => text_part(b),
        "image" => Some(Part::Image {
            source: image_source(b.source.as_ref(), path)?,
        }),
        k => return Err(unsupported(k, path)),
    })
}

fn tool_result(
    b: WireBlock,
    path: &str,
    call_names: &[(String, String)],
) -> Result<Part, ConvertError> {
    let Some(id) = b.tool_use_id else {
        return Err(ConvertError::new(
            format!("{path}.tool_use_id"),
            "missing tool_use_id",
        ));
    };
    let content = match &b.content {
        None => Vec::new(),
        Some(raw) => match parse_content(raw, &format!("{path}.content"))? {
            Content::Text(t) if t.is_empty() => Vec::new(),
            Content::Text(text) => vec![Part::Text { text }],
            Content::Blocks(blocks) => {
                let mut out = Vec::new();
                for (k, inner) in blocks.into_iter().enumerate() {
                    if let Some(p) = user_part(inner, &format!("{path}.content[{k}]"))? {
                        out.push(p);
                    }
                }
                out
            }
        },
    };
    let name = call_names
        .iter()
        .rev()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.clone());
    Ok(Part::ToolResult {
        tool_call_id: id,
        name,
        content,
        is_error: b.is_error.unwrap_or(false),
    })
}
