//! Converse request bodies to canonical: the request's wire types (unknown
//! fields are ignored) and `decode_request`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::blocks::{WireMessage, block_from_wire};
use crate::canonical::{
    ChatRequest, ConvertError, Message, Part, Reasoning, Role, Tool, ToolChoice,
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    #[serde(default)]
    messages: Vec<WireMessage>,
    #[serde(default)]
    system: Vec<WireSystem>,
    #[serde(default)]
    inference_config: Option<WireInference>,
    #[serde(default)]
    tool_config: Option<WireToolConfig>,
    #[serde(default)]
    additional_model_request_fields: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireSystem {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireInference {
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    stop_sequences: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireToolConfig {
    #[serde(default)]
    tools: Vec<WireTool>,
    #[serde(default)]
    tool_choice: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireTool {
    #[serde(default)]
    tool_spec: Option<WireToolSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireToolSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<WireSchema>,
}

#[derive(Deserialize)]
struct WireSchema {
    #[serde(default)]
    json: Option<Value>,
}

/// A Converse body to canonical (`model` is empty: it lives in the URL).
/// Used for tests and round trips; see the module docs for what is dropped.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, ConvertError> {
    let w: WireRequest = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid Converse request body: {e}")))?;

    let mut messages: Vec<Message> = Vec::new();
    // Tool names by call id, to name the results (Gemini needs them).
    let mut tool_names: Vec<(String, String)> = Vec::new();
    for (i, m) in w.messages.into_iter().enumerate() {
        let base = match m.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(ConvertError::new(
                    format!("messages[{i}].role"),
                    format!("unknown role {other:?}"),
                ));
            }
        };
        for (j, b) in m.content.into_iter().enumerate() {
            let Some(mut part) = block_from_wire(b, &format!("messages[{i}].content[{j}]"))? else {
                continue;
            };
            let role = match &mut part {
                Part::ToolCall { id, name, .. } => {
                    tool_names.push((id.clone(), name.clone()));
                    base
                }
                Part::ToolResult {
                    tool_call_id, name, ..
                } if base == Role::User => {
                    *name = tool_names
                        .iter()
                        .rev()
                        .find(|(id, _)| id == tool_call_id)
                        .map(|(_, n)| n.clone());
                    Role::Tool
                }
                _ => base,
            };
            match messages.last_mut() {
                Some(last) if last.role == role => last.content.push(part),
                _ => messages.push(Message {
                    role,
                    content: vec![part],
                }),
            }
        }
    }

    let system = w.system.into_iter().filter_map(|s| s.text).collect();

    let inf = w.inference_config.unwrap_or_default();

    let (tools, tool_choice) = match w.tool_config {
        Some(tc) => {
            let tools = tc
                .tools
                .into_iter()
                .filter_map(|t| t.tool_spec)
                .map(|s| Tool {
                    name: s.name,
                    description: s.description,
                    parameters: s
                        .input_schema
                        .and_then(|i| i.json)
                        .unwrap_or_else(|| json!({"type": "object"})),
                })
                .collect();
            let choice = tc.tool_choice.and_then(|c| {
                if c.contains_key("auto") {
                    Some(ToolChoice::Auto)
                } else if c.contains_key("any") {
                    Some(ToolChoice::Required)
                } else {
                    c.get("tool")
                        .and_then(|t| t.get("name"))
                        .and_then(Value::as_str)
                        .map(|n| ToolChoice::Tool(n.to_string()))
                }
            });
            (tools, choice)
        }
        None => (Vec::new(), None),
    };

    let extra = w.additional_model_request_fields.unwrap_or(Value::Null);
    let top_k = extra
        .get("top_k")
        .and_then(Value::as_u64)
        .and_then(|k| u32::try_from(k).ok());
    let reasoning = extra
        .get("thinking")
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("enabled"))
        .map(|t| Reasoning {
            effort: None,
            budget_tokens: t
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .and_then(|b| u32::try_from(b).ok()),
        });

    Ok(ChatRequest {
        model: String::new(),
        system,
        messages,
        max_tokens: inf.max_tokens,
        temperature: inf.temperature,
        top_p: inf.top_p,
        top_k,
        stop: inf.stop_sequences,
        stream: false,
        tools,
        tool_choice,
        reasoning,
        ..ChatRequest::default()
    })
}
