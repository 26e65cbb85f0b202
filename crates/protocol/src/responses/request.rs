//! Responses requests to canonical.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Echo, ToolNames};
use crate::canonical::{
    ChatRequest, ConvertError, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Tool,
    ToolChoice,
};

/// A decoded Responses request: the canonical request plus what only the
/// Responses answer needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub request: ChatRequest,
    pub echo: Echo,
    /// `type`s of the built-in tools left out (each once, in order).
    pub dropped_tools: Vec<String>,
    pub previous_response_id: Option<String>,
    /// `request.system[0]` is `instructions` (not part of the history a
    /// later turn continues).
    pub has_instructions: bool,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    model: String,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    instructions: Option<Value>,
    #[serde(default)]
    tools: Option<Vec<Value>>,
    #[serde(default)]
    tool_choice: Option<Value>,
    #[serde(default)]
    text: Option<Value>,
    #[serde(default)]
    reasoning: Option<Value>,
    #[serde(default)]
    max_output_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    store: Option<bool>,
    #[serde(default)]
    prompt_cache_key: Option<String>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    previous_response_id: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    safety_identifier: Option<String>,
    #[serde(default)]
    background: Option<bool>,
    #[serde(default)]
    conversation: Option<Value>,
}

/// Tool types that are functions (or hold functions); everything else is
/// a built-in tool only OpenAI runs.
fn decode_tools(
    tools: &[Value],
    names: &mut ToolNames,
    dropped: &mut Vec<String>,
) -> Result<(Vec<Tool>, Vec<Value>), ConvertError> {
    let mut out = Vec::new();
    let mut kept = Vec::new();
    for (i, t) in tools.iter().enumerate() {
        let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "function" | "custom" => {
                out.push(one_tool(t, None, names, &format!("tools[{i}]"))?);
                kept.push(t.clone());
            }
            "namespace" => {
                let ns = t.get("name").and_then(Value::as_str).ok_or_else(|| {
                    ConvertError::new(format!("tools[{i}].name"), "a namespace tool needs a name")
                })?;
                for (j, inner) in t
                    .get("tools")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    out.push(one_tool(
                        inner,
                        Some(ns),
                        names,
                        &format!("tools[{i}].tools[{j}]"),
                    )?);
                }
                kept.push(t.clone());
            }
            "" => {
                return Err(ConvertError::new(
                    format!("tools[{i}].type"),
                    "every tool needs a `type`",
                ));
            }
            other => {
                if !dropped.iter().any(|d| d == other) {
                    dropped.push(other.to_string());
                }
            }
        }
    }
    Ok((out, kept))
}

fn one_tool(
    t: &Value,
    namespace: Option<&str>,
    names: &mut ToolNames,
    path: &str,
) -> Result<Tool, ConvertError> {
    let ty = t.get("type").and_then(Value::as_str).unwrap_or("function");
    let name = t
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ConvertError::new(format!("{path}.name"), "a tool needs a name"))?;
    let flat = match namespace {
        Some(ns) => {
            let f = ToolNames::flatten(ns, name);
            names
                .namespaced
                .push((f.clone(), ns.to_string(), name.to_string()));
            f
        }
        None => name.to_string(),
    };
    let description = t
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    let parameters = match ty {
        "custom" => {
            names.custom.push(flat.clone());
            json!({"type": "object", "properties": {"input": {"type": "string",
                "description": "The tool's free-form input"}}, "required": ["input"]})
        }
        "function" => match t.get("parameters") {
            Some(p) if p.is_object() => p.clone(),
            _ => json!({"type": "object", "properties": {}}),
        },
        other => {
            return Err(ConvertError::new(
                format!("{path}.type"),
                format!("`{other}` tools cannot be in a namespace here; use function or custom"),
            ));
        }
    };
    Ok(Tool {
        name: flat,
        description,
        parameters,
    })
}

fn decode_tool_choice(v: &Value, dropped: &[String]) -> Result<Option<ToolChoice>, ConvertError> {
    Ok(match v {
        Value::Null => None,
        Value::String(s) => Some(match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(ConvertError::new(
                    "tool_choice",
                    format!("unknown tool_choice `{other}`; use auto, none or required"),
                ));
            }
        }),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function") | Some("custom") => {
                let name = o.get("name").and_then(Value::as_str).ok_or_else(|| {
                    ConvertError::new("tool_choice.name", "a function tool_choice needs a name")
                })?;
                Some(ToolChoice::Tool(name.to_string()))
            }
            Some("allowed_tools") => match o.get("mode").and_then(Value::as_str) {
                Some("required") => Some(ToolChoice::Required),
                _ => Some(ToolChoice::Auto),
            },
            // A built-in tool (dropped) or an MCP server: let the model choose.
            Some(t) if dropped.iter().any(|d| d == t) => None,
            _ => None,
        },
        _ => {
            return Err(ConvertError::new(
                "tool_choice",
                "must be a string or an object",
            ));
        }
    })
}

fn decode_format(text: &Value) -> Result<Option<ResponseFormat>, ConvertError> {
    let Some(f) = text.get("format").filter(|f| !f.is_null()) else {
        return Ok(None);
    };
    Ok(match f.get("type").and_then(Value::as_str) {
        Some("text") | None => None,
        Some("json_object") => Some(ResponseFormat::JsonObject),
        Some("json_schema") => Some(ResponseFormat::JsonSchema {
            name: f
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("response")
                .to_string(),
            schema: f.get("schema").cloned().unwrap_or_else(|| json!({})),
            strict: f.get("strict").and_then(Value::as_bool),
        }),
        Some(other) => {
            return Err(ConvertError::new(
                "text.format.type",
                format!("`{other}` is not a format; use text, json_object or json_schema"),
            ));
        }
    })
}

/// Content parts of a message item (`content` a string or a list).
fn content_parts(v: &Value, path: &str) -> Result<Vec<Part>, ConvertError> {
    match v {
        Value::Null => Ok(vec![]),
        Value::String(s) if s.is_empty() => Ok(vec![]),
        Value::String(s) => Ok(vec![Part::Text { text: s.clone() }]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, p) in items.iter().enumerate() {
                let at = || format!("{path}[{i}]");
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
                match ty {
                    "input_text" | "output_text" | "text" | "summary_text" => {
                        let t = p.get("text").and_then(Value::as_str).unwrap_or_default();
                        if !t.is_empty() {
                            out.push(Part::Text {
                                text: t.to_string(),
                            });
                        }
                    }
                    "refusal" => {
                        let t = p.get("refusal").and_then(Value::as_str).unwrap_or_default();
                        out.push(Part::Text {
                            text: t.to_string(),
                        });
                    }
                    "input_image" => {
                        let url = p
                            .get("image_url")
                            .and_then(|u| u.as_str().or_else(|| u.get("url")?.as_str()))
                            .ok_or_else(|| {
                                ConvertError::new(
                                    at(),
                                    "an input_image with a file_id cannot be translated for this provider; send its image_url (an https or data: URL)",
                                )
                            })?;
                        let source = ImageSource::from_data_url(url).unwrap_or(ImageSource::Url {
                            url: url.to_string(),
                        });
                        out.push(Part::Image { source });
                    }
                    "" => return Err(ConvertError::new(at(), "content part without a `type`")),
                    other => {
                        return Err(ConvertError::new(
                            at(),
                            format!(
                                "content part type `{other}` cannot be translated for this provider; send input_text or input_image parts"
                            ),
                        ));
                    }
                }
            }
            Ok(out)
        }
        _ => Err(ConvertError::new(
            path,
            "content must be a string or an array of parts",
        )),
    }
}

fn text_of(parts: &[Part]) -> String {
    let mut s = String::new();
    for p in parts {
        if let Part::Text { text } = p {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(text);
        }
    }
    s
}

/// Append `part` to the assistant turn at the end, or start one.
fn push_assistant(messages: &mut Vec<Message>, part: Part) {
    match messages.last_mut() {
        Some(Message {
            role: Role::Assistant,
            content,
        }) => content.push(part),
        _ => messages.push(Message {
            role: Role::Assistant,
            content: vec![part],
        }),
    }
}

fn push_tool(messages: &mut Vec<Message>, part: Part) {
    match messages.last_mut() {
        Some(Message {
            role: Role::Tool,
            content,
        }) => content.push(part),
        _ => messages.push(Message {
            role: Role::Tool,
            content: vec![part],
        }),
    }
}

fn str_field<'v>(item: &'v Value, key: &str) -> Option<&'v str> {
    item.get(key).and_then(Value::as_str)
}

/// Input items (or a stored answer's output items, which are valid input)
/// appended to `system` and `messages`. `path` names the list in errors.
pub fn decode_input(
    input: &Value,
    system: &mut Vec<String>,
    messages: &mut Vec<Message>,
    path: &str,
) -> Result<(), ConvertError> {
    let items = match input {
        Value::Null => return Ok(()),
        Value::String(s) => {
            messages.push(Message {
                role: Role::User,
                content: vec![Part::Text { text: s.clone() }],
            });
            return Ok(());
        }
        Value::Array(items) => items,
        _ => {
            return Err(ConvertError::new(
                path,
                "must be a string or an array of items",
            ));
        }
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let ty = str_field(item, "type").unwrap_or(if item.get("role").is_some() {
            "message"
        } else {
            ""
        });
        match ty {
            "message" => {
                let content = content_parts(
                    item.get("content").unwrap_or(&Value::Null),
                    &format!("{at}.content"),
                )?;
                match str_field(item, "role").unwrap_or("user") {
                    "user" => messages.push(Message {
                        role: Role::User,
                        content,
                    }),
                    "assistant" => {
                        for p in content {
                            push_assistant(messages, p);
                        }
                    }
                    "system" | "developer" => system.push(text_of(&content)),
                    other => {
                        return Err(ConvertError::new(
                            format!("{at}.role"),
                            format!(
                                "unknown role `{other}`; use user, assistant, system or developer"
                            ),
                        ));
                    }
                }
            }
            "function_call" | "custom_tool_call" => {
                let name = str_field(item, "name").unwrap_or_default();
                let name = match str_field(item, "namespace") {
                    Some(ns) => ToolNames::flatten(ns, name),
                    None => name.to_string(),
                };
                let id = str_field(item, "call_id")
                    .or_else(|| str_field(item, "id"))
                    .unwrap_or_default()
                    .to_string();
                let arguments = if ty == "custom_tool_call" {
                    json!({"input": str_field(item, "input").unwrap_or_default()}).to_string()
                } else {
                    str_field(item, "arguments")
                        .filter(|a| !a.is_empty())
                        .unwrap_or("{}")
                        .to_string()
                };
                push_assistant(
                    messages,
                    Part::ToolCall {
                        id,
                        name,
                        arguments,
                    },
                );
            }
            "function_call_output" | "custom_tool_call_output" => {
                let id = str_field(item, "call_id").unwrap_or_default().to_string();
                let content = content_parts(
                    item.get("output").unwrap_or(&Value::Null),
                    &format!("{at}.output"),
                )?;
                // Gemini and Bedrock name the function in the result.
                let name = messages.iter().rev().find_map(|m| {
                    m.content.iter().find_map(|p| match p {
                        Part::ToolCall { id: cid, name, .. } if *cid == id => Some(name.clone()),
                        _ => None,
                    })
                });
                push_tool(
                    messages,
                    Part::ToolResult {
                        tool_call_id: id,
                        name,
                        content,
                        is_error: false,
                    },
                );
            }
            // Reasoning carries no signature a provider would take back;
            // references and built-in tool calls have no equivalent.
            "reasoning"
            | "item_reference"
            | "web_search_call"
            | "file_search_call"
            | "image_generation_call"
            | "code_interpreter_call"
            | "computer_call"
            | "computer_call_output"
            | "local_shell_call"
            | "local_shell_call_output"
            | "mcp_list_tools"
            | "mcp_call"
            | "mcp_approval_request"
            | "mcp_approval_response"
            | "compaction"
            | "tool_search_call"
            | "tool_search_output" => {}
            "" => {
                return Err(ConvertError::new(
                    at,
                    "an input item needs a `type` (or a `role` for a message)",
                ));
            }
            other => {
                return Err(ConvertError::new(
                    format!("{at}.type"),
                    format!("input item type `{other}` cannot be translated for this provider"),
                ));
            }
        }
    }
    Ok(())
}

pub fn decode_request(body: &[u8]) -> Result<Decoded, ConvertError> {
    let w: Wire = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid request body: {e}")))?;
    if w.background == Some(true) {
        return Err(ConvertError::new(
            "background",
            "background responses cannot be run through a translated provider; send background: false",
        ));
    }
    if w.conversation.as_ref().is_some_and(|c| !c.is_null()) {
        return Err(ConvertError::new(
            "conversation",
            "conversations are not kept for a translated provider; chain turns with previous_response_id instead",
        ));
    }
    let mut names = ToolNames::default();
    let mut dropped = Vec::new();
    let (tools, kept_tools) = decode_tools(
        w.tools.as_deref().unwrap_or_default(),
        &mut names,
        &mut dropped,
    )?;
    let instructions = match &w.instructions {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Array(items)) => {
            // Instructions as items: their text, in order.
            let mut sys = Vec::new();
            let mut msgs = Vec::new();
            decode_input(
                &Value::Array(items.clone()),
                &mut sys,
                &mut msgs,
                "instructions",
            )?;
            for m in &msgs {
                sys.push(text_of(&m.content));
            }
            Some(sys.join("\n")).filter(|s| !s.is_empty())
        }
        _ => None,
    };
    let mut req = ChatRequest {
        model: w.model.clone(),
        max_tokens: w.max_output_tokens,
        temperature: w.temperature,
        top_p: w.top_p,
        stream: w.stream.unwrap_or(false),
        parallel_tool_calls: w.parallel_tool_calls,
        user: w.user.clone().or(w.safety_identifier.clone()),
        tools,
        ..Default::default()
    };
    if let Some(i) = &instructions {
        req.system.push(i.clone());
    }
    decode_input(
        w.input.as_ref().unwrap_or(&Value::Null),
        &mut req.system,
        &mut req.messages,
        "input",
    )?;
    req.tool_choice = decode_tool_choice(w.tool_choice.as_ref().unwrap_or(&Value::Null), &dropped)?;
    if req.tools.is_empty() {
        // Every tool was built in: nothing left to choose from.
        req.tool_choice = req.tool_choice.filter(|c| *c == ToolChoice::None);
    }
    let text = w
        .text
        .clone()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"format": {"type": "text"}}));
    req.response_format = decode_format(&text)?;
    req.reasoning = match w.reasoning.as_ref().and_then(|r| r.get("effort")) {
        Some(Value::String(e)) if e != "none" => Some(Reasoning {
            effort: Some(if e == "xhigh" {
                "high".into()
            } else {
                e.clone()
            }),
            budget_tokens: None,
        }),
        _ => None,
    };
    let echo = Echo {
        model: w.model,
        instructions,
        max_output_tokens: w.max_output_tokens,
        metadata: w
            .metadata
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({})),
        parallel_tool_calls: w.parallel_tool_calls.unwrap_or(true),
        previous_response_id: w.previous_response_id.clone(),
        reasoning: w.reasoning.unwrap_or(Value::Null),
        store: w.store.unwrap_or(true),
        temperature: w.temperature,
        top_p: w.top_p,
        text,
        tool_choice: w.tool_choice.unwrap_or_else(|| json!("auto")),
        tools: Value::Array(kept_tools),
        prompt_cache_key: w.prompt_cache_key,
        user: w.user,
        names,
        ..Echo::default()
    };
    Ok(Decoded {
        has_instructions: echo.instructions.is_some(),
        request: req,
        echo,
        dropped_tools: dropped,
        previous_response_id: w.previous_response_id,
    })
}
