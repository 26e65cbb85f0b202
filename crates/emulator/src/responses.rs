//! The OpenAI Responses API (`POST .../responses`), as OpenAI serves it:
//! written here from OpenAI's API reference, independently of the
//! gateway's own Responses codec.
//!
//! Request: `model` (required), `input` (a string or items: messages with
//! string or `input_text` content, `function_call`, `function_call_output`;
//! other items are ignored), `instructions`, `tools` (the first `function`
//! tool, or the first function of a `namespace` tool, is the one called),
//! `max_output_tokens`, `stream`, `previous_response_id` (echoed, not
//! looked up). Answers follow the chat rules: a trailing
//! `function_call_output` gives `Tool said: <first 40 chars>`; declared
//! functions and a trailing user message give `Calling <name>.` plus a
//! `function_call` (`call_…`, sample arguments); else the echo answer,
//! `status: incomplete` (`max_output_tokens`) when cut to
//! `max_output_tokens` words.
//!
//! Streams: `response.created`, `response.in_progress`, the message
//! (`response.output_item.added`, `response.content_part.added`, one
//! `response.output_text.delta` per piece, `.done` events,
//! `response.output_item.done`), a call (`output_item.added`, 2-3
//! `response.function_call_arguments.delta`, `.done`,
//! `output_item.done`), then `response.completed` (or
//! `response.incomplete`) with the whole response; `event:` lines and
//! `sequence_number`s from 0.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::wire::{Answer, ApiRequest, Sse, Text, ToolCall, next_id};

/// `model` and `stream` of a Responses body (its `input` is not the
/// embeddings' `input` the common parse expects).
pub(crate) fn head(body: &[u8]) -> Result<ApiRequest<'_>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        model: Option<Text<'a>>,
        stream: Option<bool>,
    }
    let h: Head<'_> = serde_json::from_slice(body)?;
    Ok(ApiRequest {
        model: h.model,
        stream: h.stream,
        ..ApiRequest::default()
    })
}

/// What the answer is made from.
pub(crate) struct Reply {
    id: String,
    created: u64,
    model: String,
    answer: Answer,
    call: Option<ToolCall>,
    input_tokens: u64,
    previous: Option<String>,
    usage: bool,
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The first function a request declares: (name, parameters).
fn first_function(tools: &[Value]) -> Option<(String, Option<Value>)> {
    for t in tools {
        match t.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = t.get("name").and_then(Value::as_str)?;
                return Some((name.to_owned(), t.get("parameters").cloned()));
            }
            Some("namespace") => {
                if let Some(f) = first_function(t.get("tools").and_then(Value::as_array)?) {
                    return Some(f);
                }
            }
            _ => {}
        }
    }
    None
}

impl Reply {
    /// `Err` is a message for a 400.
    pub(crate) fn new(body: &[u8], model: &str, usage: bool) -> Result<Reply, String> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("We could not parse the JSON body of your request: {e}"))?;
        let items: Vec<Value> = match v.get("input") {
            Some(Value::String(s)) => vec![json!({"role": "user", "content": s})],
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => vec![],
            Some(_) => {
                return Err("Invalid type for 'input': expected a string or an array.".into());
            }
        };
        let max = v.get("max_output_tokens").and_then(Value::as_u64);
        let kind = |i: &Value| {
            i.get("type")
                .and_then(Value::as_str)
                .unwrap_or(if i.get("role").is_some() {
                    "message"
                } else {
                    ""
                })
                .to_owned()
        };
        let mut chars = v
            .get("instructions")
            .and_then(Value::as_str)
            .map_or(0, str::len);
        for i in &items {
            chars += text_of(i.get("content").unwrap_or(&Value::Null)).len()
                + i.get("output").map_or(0, |o| text_of(o).len())
                + i.get("arguments")
                    .and_then(Value::as_str)
                    .map_or(0, str::len);
        }
        let input_tokens = (chars as u64 / 4 + 4 * items.len() as u64).max(1);
        let last = items.last();
        let last_kind = last.map(kind).unwrap_or_default();
        let tools = v
            .get("tools")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (answer, call) = if last_kind == "function_call_output" {
            let first = items
                .iter()
                .rposition(|i| kind(i) != "function_call_output")
                .map_or(0, |p| p + 1);
            let out = text_of(items[first].get("output").unwrap_or(&Value::Null));
            (Answer::with_prefix("Tool said:", &out, max), None)
        } else if let (Some((name, params)), true) = (
            first_function(tools),
            last.is_some_and(|l| {
                last_kind == "message" && l.get("role").and_then(Value::as_str) == Some("user")
            }),
        ) {
            let raw = params.and_then(|p| serde_json::value::to_raw_value(&p).ok());
            let call = ToolCall {
                id: next_id(),
                arguments: crate::native::tool_input(raw.as_deref()),
                name: name.clone(),
            };
            (Answer::plain(format!("Calling {name}.")), Some(call))
        } else {
            let echo = items
                .iter()
                .rev()
                .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))
                .map(|i| text_of(i.get("content").unwrap_or(&Value::Null)))
                .unwrap_or_default();
            (Answer::new(&echo, max), None)
        };
        let id = next_id();
        Ok(Reply {
            id: String::from_utf8_lossy(&id).into_owned(),
            created: crate::wire::unix_now(),
            model: model.to_owned(),
            answer,
            call,
            input_tokens,
            previous: v
                .get("previous_response_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            usage,
        })
    }

    fn status(&self) -> &'static str {
        if self.answer.finish == "length" {
            "incomplete"
        } else {
            "completed"
        }
    }

    fn message(&self, status: &str, text: &str) -> Value {
        let content = if status == "in_progress" {
            json!([])
        } else {
            json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
        };
        json!({"id": format!("msg_{}", self.id), "type": "message", "status": status,
            "role": "assistant", "content": content})
    }

    fn function_call(&self, c: &ToolCall, status: &str, args: &str) -> Value {
        json!({"id": format!("fc_{}", self.id), "type": "function_call", "status": status,
            "call_id": format!("call_{}", String::from_utf8_lossy(&c.id)),
            "name": c.name, "arguments": args})
    }

    fn output(&self) -> Vec<Value> {
        let mut out = vec![self.message(self.status(), &self.answer.text)];
        if let Some(c) = &self.call {
            out.push(self.function_call(c, "completed", &c.arguments));
        }
        out
    }

    fn response(&self, status: &str, output: Vec<Value>) -> Value {
        let output_tokens = self.answer.words + self.call.as_ref().map_or(0, ToolCall::tokens);
        let usage = (self.usage && status != "in_progress").then(|| {
            json!({"input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + output_tokens})
        });
        json!({
            "id": format!("resp_{}", self.id),
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": null,
            "incomplete_details": (status == "incomplete").then(|| json!({"reason": "max_output_tokens"})),
            "instructions": null,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": true,
            "previous_response_id": self.previous,
            "store": true,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "metadata": {}
        })
    }

    pub(crate) fn body(&self) -> Bytes {
        Bytes::from(self.response(self.status(), self.output()).to_string())
    }

    pub(crate) fn stream(&self, chunks: usize) -> Sse {
        let mut data = Vec::new();
        let mut ends = Vec::new();
        let mut seq = 0u64;
        let mut emit = |ty: &str, body: Value| {
            let mut m = match body {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            m.insert("type".into(), ty.into());
            m.insert("sequence_number".into(), seq.into());
            seq += 1;
            data.extend_from_slice(
                format!("event: {ty}\ndata: {}\n\n", Value::Object(m)).as_bytes(),
            );
            ends.push(data.len());
        };
        let empty = self.response("in_progress", vec![]);
        emit("response.created", json!({"response": empty}));
        emit("response.in_progress", json!({"response": empty}));
        let msg_id = format!("msg_{}", self.id);
        emit(
            "response.output_item.added",
            json!({"output_index": 0, "item": self.message("in_progress", "")}),
        );
        let part =
            |t: &str| json!({"type": "output_text", "text": t, "annotations": [], "logprobs": []});
        emit(
            "response.content_part.added",
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": part("")}),
        );
        for piece in self.answer.pieces(chunks).filter(|p| !p.is_empty()) {
            emit(
                "response.output_text.delta",
                json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []}),
            );
        }
        let text = &self.answer.text;
        emit(
            "response.output_text.done",
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
        );
        emit(
            "response.content_part.done",
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": part(text)}),
        );
        emit(
            "response.output_item.done",
            json!({"output_index": 0, "item": self.message(self.status(), text)}),
        );
        if let Some(c) = &self.call {
            let fc_id = format!("fc_{}", self.id);
            emit(
                "response.output_item.added",
                json!({"output_index": 1, "item": self.function_call(c, "in_progress", "")}),
            );
            for frag in crate::native::split_json(&c.arguments) {
                emit(
                    "response.function_call_arguments.delta",
                    json!({"item_id": fc_id, "output_index": 1, "delta": frag}),
                );
            }
            emit(
                "response.function_call_arguments.done",
                json!({"item_id": fc_id, "output_index": 1, "arguments": c.arguments}),
            );
            emit(
                "response.output_item.done",
                json!({"output_index": 1, "item": self.function_call(c, "completed", &c.arguments)}),
            );
        }
        let status = self.status();
        let ty = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        emit(
            ty,
            json!({"response": self.response(status, self.output())}),
        );
        Sse {
            data: Bytes::from(data),
            ends,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let r = Reply::new(br#"{"model":"m","input":"Hello there"}"#, "m", true).unwrap();
        let v: Value = serde_json::from_slice(&r.body()).unwrap();
        assert_eq!(v["status"], "completed");
        assert!(
            v["output"][0]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Hello there")
        );
        assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);

        let tools = r#"[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]"#;
        let body = format!(
            r#"{{"model":"m","input":[{{"role":"user","content":"weather?"}}],"tools":{tools}}}"#
        );
        let r = Reply::new(body.as_bytes(), "m", true).unwrap();
        let v: Value = serde_json::from_slice(&r.body()).unwrap();
        assert_eq!(v["output"][1]["type"], "function_call");
        assert_eq!(v["output"][1]["arguments"], r#"{"city":"sf"}"#);

        let body = format!(
            r#"{{"model":"m","tools":{tools},"input":[{{"role":"user","content":"weather?"}},{{"type":"function_call","call_id":"c","name":"get_weather","arguments":"{{}}"}},{{"type":"function_call_output","call_id":"c","output":"sunny"}}]}}"#
        );
        let r = Reply::new(body.as_bytes(), "m", false).unwrap();
        let v: Value = serde_json::from_slice(&r.body()).unwrap();
        assert_eq!(v["output"][0]["content"][0]["text"], "Tool said: sunny");
        assert!(v["usage"].is_null());

        let s = r.stream(3);
        let text = String::from_utf8(s.data.to_vec()).unwrap();
        assert!(text.starts_with("event: response.created\n"));
        assert!(text.contains("\"sequence_number\":0"));
        assert_eq!(*s.ends.last().unwrap(), s.data.len());
    }
}
