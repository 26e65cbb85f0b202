//! OpenAI chat requests to and from canonical.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::canonical::{
    ChatRequest, ConvertError, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Tool,
    ToolChoice,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_models_get_max_completion_tokens() {
        for (model, key) in [
            ("o3-mini", "max_completion_tokens"),
            ("gpt-5", "max_completion_tokens"),
            ("openai/o1", "max_completion_tokens"),
            ("gpt-4o", "max_tokens"),
            ("omni", "max_tokens"),
        ] {
            let req = ChatRequest {
                model: model.into(),
                max_tokens: Some(7),
                ..Default::default()
            };
            let v: Value = serde_json::from_slice(&encode_request(&req).unwrap()).unwrap();
            assert_eq!(v[key], 7, "{model}");
        }
    }
}

#[derive(Deserialize)]
struct WireRequest {
    model: String,
    #[serde(default)]
    messages: Vec<WireMessage>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    stop: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    tools: Vec<WireTool>,
    #[serde(default)]
    tool_choice: Option<Value>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
    #[serde(default)]
    response_format: Option<Value>,
    #[serde(default)]
    reasoning_effort: Option<String>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    seed: Option<i64>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    modalities: Option<Vec<String>>,
    #[serde(default)]
    audio: Option<Value>,
    #[serde(default)]
    n: Option<u32>,
}

#[derive(Deserialize)]
struct WireMessage {
    role: String,
    #[serde(default)]
    content: Option<Value>,
    #[serde(default, deserialize_with = "super::null_as_empty")]
    tool_calls: Vec<WireToolCall>,
    #[serde(default)]
    tool_call_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireTool {
    function: WireToolDef,
}

#[derive(Deserialize)]
struct WireToolDef {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
}

fn parts_from(content: &Value, path: &str) -> Result<Vec<Part>, ConvertError> {
    match content {
        Value::Null => Ok(vec![]),
        Value::String(s) => Ok(if s.is_empty() {
            vec![]
        } else {
            vec![Part::Text { text: s.clone() }]
        }),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = || format!("{path}[{i}]");
                match item.get("type").and_then(Value::as_str) {
                    Some("text") => out.push(Part::Text {
                        text: item
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    }),
                    Some("image_url") => {
                        let url = item
                            .get("image_url")
                            .and_then(|u| u.get("url").or(Some(u)))
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                ConvertError::new(at(), "image_url part without a url")
                            })?;
                        let source = ImageSource::from_data_url(url).unwrap_or(ImageSource::Url {
                            url: url.to_string(),
                        });
                        out.push(Part::Image { source });
                    }
                    Some(other) => {
                        return Err(ConvertError::new(
                            at(),
                            format!(
                                "content part type `{other}` cannot be translated for this provider; send text or image_url parts"
                            ),
                        ));
                    }
                    None => return Err(ConvertError::new(at(), "content part without a `type`")),
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
            s.push_str(text);
        }
    }
    s
}

pub fn decode_request(body: &[u8]) -> Result<ChatRequest, ConvertError> {
    let w: WireRequest = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid request body: {e}")))?;
    if w.audio.is_some()
        || w.modalities
            .as_ref()
            .is_some_and(|m| m.iter().any(|x| x == "audio"))
    {
        return Err(ConvertError::new(
            "modalities",
            "audio output cannot be translated for this provider; route audio requests to an OpenAI-style provider",
        ));
    }
    if w.n.is_some_and(|n| n > 1) {
        return Err(ConvertError::new(
            "n",
            "several choices (n > 1) cannot be translated for this provider; send n: 1",
        ));
    }
    let mut req = ChatRequest {
        model: w.model,
        max_tokens: w.max_completion_tokens.or(w.max_tokens),
        temperature: w.temperature,
        top_p: w.top_p,
        stream: w.stream.unwrap_or(false),
        parallel_tool_calls: w.parallel_tool_calls,
        presence_penalty: w.presence_penalty,
        frequency_penalty: w.frequency_penalty,
        seed: w.seed,
        user: w.user,
        ..Default::default()
    };
    req.stop = match w.stop {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            return Err(ConvertError::new(
                "stop",
                "must be a string or an array of strings",
            ));
        }
    };
    for (i, m) in w.messages.iter().enumerate() {
        let path = format!("messages[{i}].content");
        let content = m.content.as_ref().unwrap_or(&Value::Null);
        match m.role.as_str() {
            "system" | "developer" => req.system.push(text_of(&parts_from(content, &path)?)),
            "user" => req.messages.push(Message {
                role: Role::User,
                content: parts_from(content, &path)?,
            }),
            "assistant" => {
                let mut parts = Vec::new();
                if let Some(r) = m.reasoning_content.as_deref().filter(|r| !r.is_empty()) {
                    parts.push(Part::Thinking {
                        text: r.to_string(),
                        signature: None,
                    });
                }
                parts.extend(parts_from(content, &path)?);
                for tc in &m.tool_calls {
                    parts.push(Part::ToolCall {
                        id: tc.id.clone(),
                        name: tc.function.name.clone(),
                        arguments: tc
                            .function
                            .arguments
                            .clone()
                            .filter(|a| !a.is_empty())
                            .unwrap_or_else(|| "{}".into()),
                    });
                }
                req.messages.push(Message {
                    role: Role::Assistant,
                    content: parts,
                });
            }
            "tool" | "function" => {
                let id = m
                    .tool_call_id
                    .clone()
                    .or_else(|| m.name.clone())
                    .unwrap_or_default();
                let content = parts_from(content, &path)?;
                let part = Part::ToolResult {
                    tool_call_id: id,
                    name: m.name.clone(),
                    content,
                    is_error: false,
                };
                // Consecutive tool messages form one tool turn.
                match req.messages.last_mut() {
                    Some(Message {
                        role: Role::Tool,
                        content,
                    }) => content.push(part),
                    _ => req.messages.push(Message {
                        role: Role::Tool,
                        content: vec![part],
                    }),
                }
            }
            other => {
                return Err(ConvertError::new(
                    format!("messages[{i}].role"),
                    format!("unknown role `{other}`"),
                ));
            }
        }
    }
    req.tools = w
        .tools
        .into_iter()
        .map(|t| Tool {
            name: t.function.name,
            description: t.function.description,
            parameters: t
                .function
                .parameters
                .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        })
        .collect();
    req.tool_choice = match w.tool_choice {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(ConvertError::new(
                    "tool_choice",
                    format!("unknown tool_choice `{other}`"),
                ));
            }
        }),
        Some(v) => {
            let name = v
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ConvertError::new(
                        "tool_choice",
                        "expected {\"type\":\"function\",\"function\":{\"name\":...}}",
                    )
                })?;
            Some(ToolChoice::Tool(name.to_string()))
        }
    };
    req.response_format = match w.response_format {
        None | Some(Value::Null) => None,
        Some(v) => match v.get("type").and_then(Value::as_str) {
            Some("text") => Some(ResponseFormat::Text),
            Some("json_object") => Some(ResponseFormat::JsonObject),
            Some("json_schema") => {
                let js = v.get("json_schema").cloned().unwrap_or(Value::Null);
                Some(ResponseFormat::JsonSchema {
                    name: js
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("response")
                        .to_string(),
                    schema: js.get("schema").cloned().unwrap_or_else(|| json!({})),
                    strict: js.get("strict").and_then(Value::as_bool),
                })
            }
            _ => {
                return Err(ConvertError::new(
                    "response_format.type",
                    "must be text, json_object or json_schema",
                ));
            }
        },
    };
    req.reasoning = w.reasoning_effort.map(|e| Reasoning {
        effort: Some(e),
        budget_tokens: None,
    });
    Ok(req)
}

fn content_value(parts: &[Part]) -> Value {
    let only_text = parts.iter().all(|p| matches!(p, Part::Text { .. }));
    if only_text {
        return Value::String(text_of(parts));
    }
    Value::Array(
        parts
            .iter()
            .filter_map(|p| match p {
                Part::Text { text } => Some(json!({"type": "text", "text": text})),
                Part::Image { source } => {
                    Some(json!({"type": "image_url", "image_url": {"url": source.to_url()}}))
                }
                _ => None,
            })
            .collect(),
    )
}

/// o1, o3, o4-mini, gpt-5 and their dated variants.
fn is_openai_reasoning_model(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    let b = m.as_bytes();
    (b.len() >= 2 && b[0] == b'o' && b[1].is_ascii_digit()) || m.starts_with("gpt-5")
}

pub fn encode_request(req: &ChatRequest) -> Result<Vec<u8>, ConvertError> {
    let mut messages = Vec::with_capacity(req.messages.len() + req.system.len());
    for s in &req.system {
        messages.push(json!({"role": "system", "content": s}));
    }
    for (i, m) in req.messages.iter().enumerate() {
        match m.role {
            // Where it stands: chat completions takes system messages
            // anywhere.
            Role::System => {
                messages.push(json!({"role": "system", "content": text_of(&m.content)}))
            }
            Role::User => {
                messages.push(json!({"role": "user", "content": content_value(&m.content)}))
            }
            Role::Assistant => {
                let visible: Vec<Part> = m
                    .content
                    .iter()
                    .filter(|p| matches!(p, Part::Text { .. } | Part::Image { .. }))
                    .cloned()
                    .collect();
                let calls: Vec<Value> = m
                    .content
                    .iter()
                    .filter_map(|p| match p {
                        Part::ToolCall { id, name, arguments } => Some(json!({
                            "id": id, "type": "function", "function": {"name": name, "arguments": arguments}
                        })),
                        _ => None,
                    })
                    .collect();
                let mut msg = Map::new();
                msg.insert("role".into(), "assistant".into());
                msg.insert(
                    "content".into(),
                    if visible.is_empty() && !calls.is_empty() {
                        Value::Null
                    } else {
                        content_value(&visible)
                    },
                );
                if !calls.is_empty() {
                    msg.insert("tool_calls".into(), Value::Array(calls));
                }
                messages.push(Value::Object(msg));
            }
            Role::Tool => {
                for (j, p) in m.content.iter().enumerate() {
                    match p {
                        Part::ToolResult {
                            tool_call_id,
                            content,
                            ..
                        } => {
                            messages.push(json!({"role": "tool", "tool_call_id": tool_call_id, "content": text_of(content)}));
                        }
                        Part::Text { text } => {
                            messages.push(json!({"role": "user", "content": text}))
                        }
                        _ => {
                            return Err(ConvertError::new(
                                format!("messages[{i}].content[{j}]"),
                                "only tool results and text can follow tool calls",
                            ));
                        }
                    }
                }
            }
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), req.model.clone().into());
    out.insert("messages".into(), Value::Array(messages));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.into(), v);
        }
    };
    // OpenAI's reasoning models refuse `max_tokens`; everyone else
    // (and every OpenAI-compatible server) knows it.
    let max_key = if is_openai_reasoning_model(&req.model) {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    put(max_key, req.max_tokens.map(Value::from));
    put("temperature", req.temperature.map(Value::from));
    put("top_p", req.top_p.map(Value::from));
    put("presence_penalty", req.presence_penalty.map(Value::from));
    put("frequency_penalty", req.frequency_penalty.map(Value::from));
    put("seed", req.seed.map(Value::from));
    put("user", req.user.clone().map(Value::from));
    put(
        "parallel_tool_calls",
        req.parallel_tool_calls.map(Value::from),
    );
    put(
        "reasoning_effort",
        req.reasoning
            .as_ref()
            .and_then(Reasoning::effort)
            .map(Value::from),
    );
    if !req.stop.is_empty() {
        put("stop", Some(json!(req.stop)));
    }
    if req.stream {
        put("stream", Some(Value::Bool(true)));
        put("stream_options", Some(json!({"include_usage": true})));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    f.insert("description".into(), d.clone().into());
                }
                f.insert("parameters".into(), t.parameters.clone());
                json!({"type": "function", "function": f})
            })
            .collect();
        put("tools", Some(Value::Array(tools)));
    }
    put(
        "tool_choice",
        req.tool_choice.as_ref().map(|c| match c {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(n) => json!({"type": "function", "function": {"name": n}}),
        }),
    );
    put(
        "response_format",
        req.response_format.as_ref().map(|f| match f {
            ResponseFormat::Text => json!({"type": "text"}),
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                let mut js = Map::new();
                js.insert("name".into(), name.clone().into());
                js.insert("schema".into(), schema.clone());
                if let Some(s) = strict {
                    js.insert("strict".into(), (*s).into());
                }
                json!({"type": "json_schema", "json_schema": js})
            }
        }),
    );
    serde_json::to_vec(&Value::Object(out)).map_err(|e| ConvertError::new("", e.to_string()))
}
