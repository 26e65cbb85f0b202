//! Responses `response` objects to and from canonical.

use serde_json::{Map, Value, json};

use super::{Echo, ToolNames, item_id, response_id_from, status_of};
use crate::canonical::{ChatResponse, ConvertError, Part, StopReason, TokenUsage};

pub fn usage_json(u: &TokenUsage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {
            "cached_tokens": u.cached_tokens,
            "cache_write_tokens": u.cache_creation_tokens,
        },
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    })
}

fn usage_from(v: &Value) -> TokenUsage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    TokenUsage {
        input_tokens: n(v.get("input_tokens")),
        output_tokens: n(v.get("output_tokens")),
        cached_tokens: n(v.pointer("/input_tokens_details/cached_tokens")),
        cache_creation_tokens: n(v.pointer("/input_tokens_details/cache_write_tokens")),
        reasoning_tokens: n(v.pointer("/output_tokens_details/reasoning_tokens")),
    }
}

pub(crate) fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

pub(crate) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"id": id, "type": "message", "status": status, "role": "assistant",
        "content": [output_text_part(text)]})
}

pub(crate) fn reasoning_item(id: &str, text: &str) -> Value {
    json!({"id": id, "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}]})
}

/// A call item: `function_call`, or `custom_tool_call` for a custom tool
/// (its arguments `{"input": ...}` unwrapped).
pub(crate) fn call_item(
    response_id: &str,
    index: usize,
    names: &ToolNames,
    call_id: &str,
    flat_name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    let mut m = Map::new();
    if names.is_custom(flat_name) {
        let input = serde_json::from_str::<Value>(arguments)
            .ok()
            .and_then(|v| v.get("input").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| arguments.to_string());
        m.insert("id".into(), item_id("ctc", response_id, index).into());
        m.insert("type".into(), "custom_tool_call".into());
        m.insert("input".into(), input.into());
    } else {
        m.insert("id".into(), item_id("fc", response_id, index).into());
        m.insert("type".into(), "function_call".into());
        m.insert("arguments".into(), arguments.into());
    }
    m.insert("status".into(), status.into());
    m.insert("call_id".into(), call_id.into());
    match names.split(flat_name) {
        Some((ns, name)) => {
            m.insert("namespace".into(), ns.into());
            m.insert("name".into(), name.into());
        }
        None => {
            m.insert("name".into(), flat_name.into());
        }
    }
    Value::Object(m)
}

/// Output items for the parts of an answer: consecutive text is one
/// `message`, consecutive thinking one `reasoning` item, each call its own.
pub fn output_items(
    response_id: &str,
    content: &[Part],
    names: &ToolNames,
    message_status: &str,
) -> Vec<Value> {
    enum Run {
        Text(String),
        Thinking(String),
    }
    let mut items = Vec::new();
    let mut run: Option<Run> = None;
    let flush = |run: &mut Option<Run>, items: &mut Vec<Value>| match run.take() {
        Some(Run::Text(t)) => {
            let id = item_id("msg", response_id, items.len());
            items.push(message_item(&id, &t, message_status));
        }
        Some(Run::Thinking(t)) => {
            let id = item_id("rs", response_id, items.len());
            items.push(reasoning_item(&id, &t));
        }
        None => {}
    };
    for p in content {
        match p {
            Part::Text { text } => match &mut run {
                Some(Run::Text(t)) => t.push_str(text),
                _ => {
                    flush(&mut run, &mut items);
                    run = Some(Run::Text(text.clone()));
                }
            },
            Part::Thinking { text, .. } => match &mut run {
                Some(Run::Thinking(t)) => t.push_str(text),
                _ => {
                    flush(&mut run, &mut items);
                    run = Some(Run::Thinking(text.clone()));
                }
            },
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                flush(&mut run, &mut items);
                let index = items.len();
                let call_id = if id.is_empty() {
                    item_id("call", response_id, index)
                } else {
                    id.clone()
                };
                items.push(call_item(
                    response_id,
                    index,
                    names,
                    &call_id,
                    name,
                    arguments,
                    "completed",
                ));
            }
            _ => {}
        }
    }
    flush(&mut run, &mut items);
    items
}

/// The `response` object: `status` is `in_progress`, `completed`,
/// `incomplete` or `failed`.
pub fn response_object(
    echo: &Echo,
    status: &str,
    output: Vec<Value>,
    usage: Option<&TokenUsage>,
    incomplete_reason: Option<&str>,
    error: Option<Value>,
) -> Value {
    let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
    json!({
        "id": echo.id,
        "object": "response",
        "created_at": echo.created_at,
        "status": status,
        "background": false,
        "error": opt(error),
        "incomplete_details": opt(incomplete_reason.map(|r| json!({"reason": r}))),
        "instructions": opt(echo.instructions.clone().map(Value::from)),
        "max_output_tokens": opt(echo.max_output_tokens.map(Value::from)),
        "model": echo.model,
        "output": output,
        "parallel_tool_calls": echo.parallel_tool_calls,
        "previous_response_id": opt(echo.previous_response_id.clone().map(Value::from)),
        "prompt_cache_key": opt(echo.prompt_cache_key.clone().map(Value::from)),
        "reasoning": echo.reasoning,
        "store": echo.store,
        "temperature": opt(echo.temperature.map(Value::from)),
        "text": echo.text,
        "tool_choice": echo.tool_choice,
        "tools": echo.tools,
        "top_p": opt(echo.top_p.map(Value::from)),
        "truncation": "disabled",
        "usage": opt(usage.map(usage_json)),
        "user": opt(echo.user.clone().map(Value::from)),
        "metadata": echo.metadata,
    })
}

/// The echo with what the answer itself says filled in (id, time, model).
pub(crate) fn echo_for(echo: &Echo, id: &str, model: &str, created: u64) -> Echo {
    let mut e = echo.clone();
    if e.id.is_empty() {
        e.id = response_id_from(id);
    }
    if e.created_at == 0 {
        e.created_at = created;
    }
    if !model.is_empty() {
        e.model = model.to_string();
    }
    e
}

/// A canonical answer as a Responses `response` object.
pub fn encode_response(resp: &ChatResponse, echo: &Echo) -> Vec<u8> {
    let echo = echo_for(echo, &resp.id, &resp.model, resp.created);
    let (status, reason) = status_of(resp.stop_reason);
    let msg_status = if status == "completed" {
        "completed"
    } else {
        "incomplete"
    };
    let output = output_items(&echo.id, &resp.content, &echo.names, msg_status);
    let body = response_object(&echo, status, output, Some(&resp.usage), reason, None);
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Parts of output items (for answers decoded on the native path).
pub(crate) fn parts_of_output(output: &[Value]) -> (Vec<Part>, bool) {
    let mut content = Vec::new();
    let mut calls = false;
    for item in output {
        let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default();
        match s("type") {
            "message" => {
                for c in item
                    .get("content")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let t = c
                        .get("text")
                        .or_else(|| c.get("refusal"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !t.is_empty() {
                        content.push(Part::Text { text: t.into() });
                    }
                }
            }
            "reasoning" => {
                let mut text = String::new();
                for k in ["summary", "content"] {
                    for p in item
                        .get(k)
                        .and_then(Value::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                    {
                        text.push_str(p.get("text").and_then(Value::as_str).unwrap_or_default());
                    }
                }
                let signature = item
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if !text.is_empty() || signature.is_some() {
                    content.push(Part::Thinking { text, signature });
                }
            }
            "function_call" | "custom_tool_call" => {
                calls = true;
                let name = match item.get("namespace").and_then(Value::as_str) {
                    Some(ns) => ToolNames::flatten(ns, s("name")),
                    None => s("name").to_string(),
                };
                let arguments = if s("type") == "custom_tool_call" {
                    json!({"input": s("input")}).to_string()
                } else if s("arguments").is_empty() {
                    "{}".into()
                } else {
                    s("arguments").to_string()
                };
                content.push(Part::ToolCall {
                    id: s("call_id").to_string(),
                    name,
                    arguments,
                });
            }
            _ => {}
        }
    }
    (content, calls)
}

pub(crate) fn stop_reason_of(resp: &Value, calls: bool) -> StopReason {
    let reason = resp
        .pointer("/incomplete_details/reason")
        .and_then(Value::as_str);
    match (resp.get("status").and_then(Value::as_str), reason) {
        (Some("incomplete"), Some("content_filter")) => StopReason::ContentFilter,
        (Some("incomplete"), _) => StopReason::Length,
        (Some("failed") | Some("cancelled"), _) => StopReason::Other,
        _ if calls => StopReason::ToolCalls,
        _ => StopReason::Stop,
    }
}

/// A Responses `response` object (a provider's answer) as canonical.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ConvertError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid response body: {e}")))?;
    response_from_value(&v)
}

pub(crate) fn response_from_value(v: &Value) -> Result<ChatResponse, ConvertError> {
    if !v.is_object() {
        return Err(ConvertError::new("", "a response must be a JSON object"));
    }
    let output = v
        .get("output")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (content, calls) = parts_of_output(output);
    Ok(ChatResponse {
        id: v
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into(),
        model: v
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into(),
        created: v
            .get("created_at")
            .and_then(|c| c.as_u64().or_else(|| c.as_f64().map(|f| f as u64)))
            .unwrap_or(0),
        content,
        stop_reason: stop_reason_of(v, calls),
        usage: v.get("usage").map(usage_from).unwrap_or_default(),
    })
}
