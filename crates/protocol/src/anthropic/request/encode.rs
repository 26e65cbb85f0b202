//! Canonical requests to Anthropic Messages bodies: the outgoing wire types,
//! the `response_format` instruction, the thinking rules and the conversion
//! of each part to a content block.

use serde::Serialize;
use serde_json::{Value, json};

use crate::anthropic::DEFAULT_MAX_TOKENS;
use crate::anthropic::wire::{OutBlock, OutImageSource, OutToolContent, tool_input};
use crate::canonical::{
    ChatRequest, ConvertError, Part, Reasoning, ResponseFormat, Role, ToolChoice,
};

#[derive(Serialize)]
struct OutRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<OutSystem>,
    messages: Vec<OutMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<OutToolChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<OutThinking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<OutMetadata<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum OutSystem {
    Text(String),
    Blocks(Vec<OutSystemBlock>),
}

#[derive(Serialize)]
struct OutSystemBlock {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct OutMessage<'a> {
    role: &'static str,
    content: Vec<OutBlock<'a>>,
}

#[derive(Serialize)]
struct OutTool<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: Value,
}

#[derive(Serialize)]
struct OutToolChoice<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disable_parallel_tool_use: Option<bool>,
}

#[derive(Serialize)]
struct OutThinking {
    #[serde(rename = "type")]
    kind: &'static str,
    budget_tokens: u32,
}

#[derive(Serialize)]
struct OutMetadata<'a> {
    user_id: &'a str,
}

/// The system instruction that stands in for `response_format`, which
/// Anthropic does not have.
pub(crate) fn json_instruction(format: &ResponseFormat) -> Option<String> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(
            "Respond with a single valid JSON object and nothing else: no prose, no Markdown code fences."
                .to_string(),
        ),
        ResponseFormat::JsonSchema { name, schema, .. } => Some(format!(
            "Respond with a single valid JSON value and nothing else: no prose, no Markdown code fences. \
             It must conform to this JSON Schema (named \"{name}\"):\n{schema}"
        )),
    }
}

/// Canonical to the body for Anthropic's `POST /v1/messages`.
pub fn encode_request(req: &ChatRequest) -> Result<Vec<u8>, ConvertError> {
    // Without the beta header (a translated request has none) Anthropic
    // has no system role in `messages`.
    let req = &*req.fold_system_messages();
    let mut system: Vec<String> = req
        .system
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    if let Some(i) = req.response_format.as_ref().and_then(json_instruction) {
        system.push(i);
    }
    let system = match system.len() {
        0 => None,
        1 => system.pop().map(OutSystem::Text),
        _ => Some(OutSystem::Blocks(
            system
                .into_iter()
                .map(|text| OutSystemBlock { kind: "text", text })
                .collect(),
        )),
    };

    let mut messages: Vec<OutMessage> = Vec::new();
    for (i, m) in req.messages.iter().enumerate() {
        let role = match m.role {
            Role::Assistant => "assistant",
            Role::User | Role::Tool => "user",
            // Folded into `system` above.
            Role::System => continue,
        };
        let mut blocks = Vec::new();
        for (j, p) in m.content.iter().enumerate() {
            let path = format!("messages[{i}].content[{j}]");
            if let Some(b) = encode_part(m.role, p, &path)? {
                blocks.push(b);
            }
        }
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => messages.push(OutMessage {
                role,
                content: blocks,
            }),
        }
    }
    // Tool results must open the user message that follows the calls.
    for m in &mut messages {
        if m.role == "user" {
            let (mut results, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut m.content)
                .into_iter()
                .partition(|b| matches!(b, OutBlock::ToolResult { .. }));
            results.extend(rest);
            m.content = results;
        }
    }

    let tools: Vec<OutTool> = req
        .tools
        .iter()
        .map(|t| OutTool {
            name: &t.name,
            description: t.description.as_deref(),
            input_schema: if t.parameters.is_object() {
                t.parameters.clone()
            } else {
                json!({"type": "object", "properties": {}})
            },
        })
        .collect();

    let disable_parallel = req.parallel_tool_calls.map(|p| !p);
    let tool_choice = if tools.is_empty() {
        None
    } else {
        match &req.tool_choice {
            Some(ToolChoice::None) => Some(OutToolChoice {
                kind: "none",
                name: None,
                disable_parallel_tool_use: None,
            }),
            Some(ToolChoice::Auto) => Some(OutToolChoice {
                kind: "auto",
                name: None,
                disable_parallel_tool_use: disable_parallel,
            }),
            Some(ToolChoice::Required) => Some(OutToolChoice {
                kind: "any",
                name: None,
                disable_parallel_tool_use: disable_parallel,
            }),
            Some(ToolChoice::Tool(name)) => Some(OutToolChoice {
                kind: "tool",
                name: Some(name),
                disable_parallel_tool_use: disable_parallel,
            }),
            None if disable_parallel == Some(true) => Some(OutToolChoice {
                kind: "auto",
                name: None,
                disable_parallel_tool_use: Some(true),
            }),
            None => None,
        }
    };

    // Thinking is left off where Anthropic would refuse it: with a forced
    // tool (the client's explicit choice wins), and inside a tool loop whose
    // assistant turn does not open with a (signed) thinking block.
    let forced_tool = tool_choice
        .as_ref()
        .is_some_and(|c| matches!(c.kind, "any" | "tool"));
    let thinking_allowed = !forced_tool && !unsigned_tool_loop(&messages);

    // Thinking: Anthropic wants 1024 <= budget < max_tokens.
    let (max_tokens, budget) = crate::dialect::claude_thinking(
        req.max_tokens,
        req.reasoning
            .as_ref()
            .and_then(Reasoning::budget)
            .filter(|_| thinking_allowed),
        Some(DEFAULT_MAX_TOKENS),
    );
    let max_tokens = max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    let thinking_on = budget.is_some();
    let (temperature, top_p, top_k) = if thinking_on {
        (
            req.temperature.filter(|t| *t == 1.0),
            req.top_p.filter(|p| *p >= 0.95),
            None,
        )
    } else {
        (req.temperature, req.top_p, req.top_k)
    };

    let body = OutRequest {
        model: &req.model,
        max_tokens,
        system,
        messages,
        temperature,
        top_p,
        top_k,
        stop_sequences: &req.stop,
        stream: req.stream,
        tools,
        tool_choice,
        thinking: budget.map(|budget_tokens| OutThinking {
            kind: "enabled",
            budget_tokens,
        }),
        metadata: req.user.as_deref().map(|user_id| OutMetadata { user_id }),
    };
    serde_json::to_vec(&body).map_err(|e| ConvertError::new("", e.to_string()))
}

/// Whether the conversation ends in a tool-result turn that answers an
/// assistant turn not opening with a thinking block. With thinking on,
/// Anthropic refuses such a request ("a final `assistant` message must start
/// with a thinking block"): the assistant turn of a tool loop must be sent
/// back with its signed thinking, which clients of other dialects never
/// have.
fn unsigned_tool_loop(messages: &[OutMessage]) -> bool {
    let Some(last) = messages.last() else {
        return false;
    };
    if last.role != "user"
        || !last
            .content
            .iter()
            .any(|b| matches!(b, OutBlock::ToolResult { .. }))
    {
        return false;
    }
    messages
        .iter()
        .rev()
        .find(|m| m.role == "assistant")
        .is_some_and(|m| {
            !matches!(
                m.content.first(),
                Some(OutBlock::Thinking { .. } | OutBlock::RedactedThinking { .. })
            )
        })
}

fn encode_part<'a>(
    role: Role,
    p: &'a Part,
    path: &str,
) -> Result<Option<OutBlock<'a>>, ConvertError> {
    let assistant = role == Role::Assistant;
    Ok(match p {
        Part::Text { text } if text.is_empty() => None,
        Part::Text { text } => Some(OutBlock::Text { text }),
        Part::Image { .. } if assistant => {
            return Err(ConvertError::new(
                path,
                "Anthropic does not accept images in assistant messages",
            ));
        }
        Part::Image { source } => Some(OutBlock::Image {
            source: OutImageSource::from(source),
        }),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            if !assistant {
                return Err(ConvertError::new(
                    path,
                    "tool calls belong in assistant messages",
                ));
            }
            let input = tool_input(arguments)
                .map_err(|m| ConvertError::new(format!("{path}.arguments"), m))?;
            Some(OutBlock::ToolUse { id, name, input })
        }
        Part::ToolResult {
            tool_call_id,
            content,
            is_error,
            ..
        } => {
            if assistant {
                return Err(ConvertError::new(
                    path,
                    "tool results belong in user or tool messages",
                ));
            }
            let content = match content.as_slice() {
                [] => None,
                [Part::Text { text }] if text.is_empty() => None,
                [Part::Text { text }] => Some(OutToolContent::Text(text)),
                parts => {
                    let mut blocks = Vec::new();
                    for (k, inner) in parts.iter().enumerate() {
                        let inner_path = format!("{path}.content[{k}]");
                        match inner {
                            Part::Text { text } if text.is_empty() => {}
                            Part::Text { text } => blocks.push(OutBlock::Text { text }),
                            Part::Image { source } => blocks.push(OutBlock::Image {
                                source: OutImageSource::from(source),
                            }),
                            _ => {
                                return Err(ConvertError::new(
                                    inner_path,
                                    "tool results can only hold text and images",
                                ));
                            }
                        }
                    }
                    (!blocks.is_empty()).then_some(OutToolContent::Blocks(blocks))
                }
            };
            Some(OutBlock::ToolResult {
                tool_use_id: tool_call_id,
                content,
                is_error: *is_error,
            })
        }
        // Anthropic verifies signatures: unsigned reasoning (from other
        // providers) and reasoning in user turns cannot be sent back.
        Part::Thinking {
            text,
            signature: Some(signature),
        } if assistant && !signature.is_empty() => Some(OutBlock::Thinking {
            thinking: text,
            signature,
        }),
        Part::Thinking { .. } => None,
        Part::RedactedThinking { data } if assistant => Some(OutBlock::RedactedThinking { data }),
        Part::RedactedThinking { .. } => None,
    })
}
