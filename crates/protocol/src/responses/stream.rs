//! Canonical events to the Responses event lifecycle, for clients (the
//! decoder is in `stream_decode.rs`).
//!
//! The encoder writes, in order: `response.created`,
//! `response.in_progress`; per output item `response.output_item.added`,
//! its content events (`response.content_part.added`,
//! `response.output_text.delta`... for a message; reasoning summary events
//! for reasoning; `response.function_call_arguments.delta` for a call), its
//! closing events and `response.output_item.done`, each item closed exactly
//! once; then `response.completed` (or `response.incomplete`) with the
//! whole response and usage. A text or reasoning item is closed when
//! another item opens; calls stay open until the answer ends (their
//! arguments may come interleaved). Every event carries `type` and a
//! `sequence_number` from 0, and is written with an `event:` line.

use serde_json::{Map, Value, json};

use super::response::{
    call_item, echo_for, message_item, output_text_part, reasoning_item, response_object,
};
use super::{Echo, error_code, item_id, status_of};
use crate::canonical::{StopReason, StreamEvent, TokenUsage};
use crate::dialect::StreamEncode;

#[derive(Debug)]
struct OpenCall {
    /// The canonical call index.
    index: u32,
    /// Output index.
    item: usize,
    call_id: String,
    name: String,
    arguments: String,
    custom: bool,
}

/// Canonical events to a Responses event stream.
#[derive(Debug)]
pub struct StreamEncoder {
    echo: Echo,
    seq: u64,
    started: bool,
    done: bool,
    /// Output items so far, in their latest state.
    items: Vec<Value>,
    /// The open message item and its text.
    text: Option<(usize, String)>,
    /// The open reasoning item and its text.
    reasoning: Option<(usize, String)>,
    calls: Vec<OpenCall>,
    finish: Option<StopReason>,
    usage: Option<TokenUsage>,
    final_response: Option<Value>,
}

impl StreamEncoder {
    pub fn new(echo: Echo) -> Self {
        StreamEncoder {
            echo,
            seq: 0,
            started: false,
            done: false,
            items: Vec::new(),
            text: None,
            reasoning: None,
            calls: Vec::new(),
            finish: None,
            usage: None,
            final_response: None,
        }
    }

    /// The whole response as in the last event (`response.completed`,
    /// `response.incomplete` or `response.failed`), once written.
    pub fn final_response(&self) -> Option<&Value> {
        self.final_response.as_ref()
    }

    fn emit(&mut self, ty: &str, mut body: Map<String, Value>, out: &mut Vec<u8>) {
        body.insert("type".into(), ty.into());
        body.insert("sequence_number".into(), self.seq.into());
        self.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        // Writing a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &Value::Object(body));
        out.extend_from_slice(b"\n\n");
    }

    fn emit_json(&mut self, ty: &str, body: Value, out: &mut Vec<u8>) {
        if let Value::Object(m) = body {
            self.emit(ty, m, out);
        }
    }

    fn start(&mut self, id: &str, model: &str, created: u64, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.echo = echo_for(&self.echo, id, model, created);
        let r = response_object(&self.echo, "in_progress", vec![], None, None, None);
        self.emit_json("response.created", json!({"response": r}), out);
        let r = response_object(&self.echo, "in_progress", vec![], None, None, None);
        self.emit_json("response.in_progress", json!({"response": r}), out);
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            let model = self.echo.model.clone();
            self.start("", &model, 0, out);
        }
    }

    fn id(&self, prefix: &str, index: usize) -> String {
        item_id(prefix, &self.echo.id, index)
    }

    fn add_item(&mut self, item: Value, out: &mut Vec<u8>) -> usize {
        let index = self.items.len();
        self.items.push(item.clone());
        self.emit_json(
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
            out,
        );
        index
    }

    fn close_text(&mut self, out: &mut Vec<u8>) {
        let Some((index, text)) = self.text.take() else {
            return;
        };
        let id = self.id("msg", index);
        let status = if matches!(
            self.finish,
            Some(StopReason::Length | StopReason::ContentFilter)
        ) {
            "incomplete"
        } else {
            "completed"
        };
        self.emit_json(
            "response.output_text.done",
            json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
            out,
        );
        self.emit_json(
            "response.content_part.done",
            json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text_part(&text)}),
            out,
        );
        let item = message_item(&id, &text, status);
        self.items[index] = item.clone();
        self.emit_json(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
            out,
        );
    }

    fn close_reasoning(&mut self, out: &mut Vec<u8>) {
        let Some((index, text)) = self.reasoning.take() else {
            return;
        };
        let id = self.id("rs", index);
        self.emit_json(
            "response.reasoning_summary_text.done",
            json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
            out,
        );
        self.emit_json(
            "response.reasoning_summary_part.done",
            json!({"item_id": id, "output_index": index, "summary_index": 0,
                "part": {"type": "summary_text", "text": text}}),
            out,
        );
        let item = reasoning_item(&id, &text);
        self.items[index] = item.clone();
        self.emit_json(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
            out,
        );
    }

    fn close_call(&mut self, call: OpenCall, out: &mut Vec<u8>) {
        let index = call.item;
        let mut args = call.arguments;
        if args.is_empty() {
            args.push_str("{}");
            if !call.custom {
                let id = self.id("fc", index);
                self.emit_json(
                    "response.function_call_arguments.delta",
                    json!({"item_id": id, "output_index": index, "delta": "{}"}),
                    out,
                );
            }
        }
        let item = call_item(
            &self.echo.id,
            index,
            &self.echo.names,
            &call.call_id,
            &call.name,
            &args,
            "completed",
        );
        let item_id = item.get("id").cloned().unwrap_or(Value::Null);
        if call.custom {
            // The input is one JSON string upstream: sent whole at the end.
            let input = item.get("input").cloned().unwrap_or_else(|| json!(""));
            self.emit_json(
                "response.custom_tool_call_input.delta",
                json!({"item_id": item_id, "output_index": index, "delta": input}),
                out,
            );
            self.emit_json(
                "response.custom_tool_call_input.done",
                json!({"item_id": item_id, "output_index": index, "input": input}),
                out,
            );
        } else {
            self.emit_json(
                "response.function_call_arguments.done",
                json!({"item_id": item_id, "output_index": index, "arguments": args}),
                out,
            );
        }
        self.items[index] = item.clone();
        self.emit_json(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
            out,
        );
    }

    /// Close every open item, in output order.
    fn close_all(&mut self, out: &mut Vec<u8>) {
        self.close_text(out);
        self.close_reasoning(out);
        let mut calls = std::mem::take(&mut self.calls);
        calls.sort_by_key(|c| c.item);
        for c in calls {
            self.close_call(c, out);
        }
    }

    fn open_call(&mut self, index: u32, id: &str, name: &str, out: &mut Vec<u8>) -> usize {
        self.close_text(out);
        self.close_reasoning(out);
        let item_index = self.items.len();
        let call_id = if id.is_empty() {
            self.id("call", item_index)
        } else {
            id.to_string()
        };
        let custom = self.echo.names.is_custom(name);
        let mut item = call_item(
            &self.echo.id,
            item_index,
            &self.echo.names,
            &call_id,
            name,
            "",
            "in_progress",
        );
        if custom && let Some(m) = item.as_object_mut() {
            m.insert("input".into(), "".into());
        }
        self.add_item(item, out);
        self.calls.push(OpenCall {
            index,
            item: item_index,
            call_id,
            name: name.to_string(),
            arguments: String::new(),
            custom,
        });
        self.calls.len() - 1
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.close_all(out);
        let reason = self.finish.unwrap_or(StopReason::Stop);
        let (status, incomplete) = status_of(reason);
        let r = response_object(
            &self.echo,
            status,
            self.items.clone(),
            Some(&self.usage.unwrap_or_default()),
            incomplete,
            None,
        );
        let ty = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.emit_json(ty, json!({"response": r}), out);
        self.final_response = Some(r);
        self.done = true;
    }
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match ev {
            StreamEvent::Start {
                id,
                model,
                created,
                usage,
            } => {
                if usage.input_tokens > 0 {
                    self.usage = Some(*usage);
                }
                self.start(id, model, *created, out);
            }
            StreamEvent::TextDelta { text } => {
                if text.is_empty() {
                    return;
                }
                self.ensure_started(out);
                self.close_reasoning(out);
                let index = match &self.text {
                    Some((i, _)) => *i,
                    None => {
                        let index = self.items.len();
                        let id = self.id("msg", index);
                        let item = json!({"id": id, "type": "message", "status": "in_progress",
                            "role": "assistant", "content": []});
                        self.add_item(item, out);
                        self.emit_json(
                            "response.content_part.added",
                            json!({"item_id": id, "output_index": index, "content_index": 0,
                                "part": output_text_part("")}),
                            out,
                        );
                        self.text = Some((index, String::new()));
                        index
                    }
                };
                let id = self.id("msg", index);
                self.emit_json(
                    "response.output_text.delta",
                    json!({"item_id": id, "output_index": index, "content_index": 0,
                        "delta": text, "logprobs": []}),
                    out,
                );
                if let Some((_, t)) = &mut self.text {
                    t.push_str(text);
                }
            }
            StreamEvent::ThinkingDelta { text } => {
                if text.is_empty() {
                    return;
                }
                self.ensure_started(out);
                self.close_text(out);
                let index = match &self.reasoning {
                    Some((i, _)) => *i,
                    None => {
                        let index = self.items.len();
                        let id = self.id("rs", index);
                        self.add_item(json!({"id": id, "type": "reasoning", "summary": []}), out);
                        self.emit_json(
                            "response.reasoning_summary_part.added",
                            json!({"item_id": id, "output_index": index, "summary_index": 0,
                                "part": {"type": "summary_text", "text": ""}}),
                            out,
                        );
                        self.reasoning = Some((index, String::new()));
                        index
                    }
                };
                let id = self.id("rs", index);
                self.emit_json(
                    "response.reasoning_summary_text.delta",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": text}),
                    out,
                );
                if let Some((_, t)) = &mut self.reasoning {
                    t.push_str(text);
                }
            }
            StreamEvent::ThinkingSignature { .. } | StreamEvent::RedactedThinking { .. } => {}
            StreamEvent::ToolCallStart { index, id, name } => {
                self.ensure_started(out);
                if self.calls.iter().any(|c| c.index == *index) {
                    return;
                }
                self.open_call(*index, id, name, out);
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if arguments.is_empty() {
                    return;
                }
                self.ensure_started(out);
                let at = match self.calls.iter().position(|c| c.index == *index) {
                    Some(at) => at,
                    None => self.open_call(*index, "", "", out),
                };
                let (item, custom) = (self.calls[at].item, self.calls[at].custom);
                self.calls[at].arguments.push_str(arguments);
                if !custom {
                    let id = self.id("fc", item);
                    self.emit_json(
                        "response.function_call_arguments.delta",
                        json!({"item_id": id, "output_index": item, "delta": arguments}),
                        out,
                    );
                }
            }
            StreamEvent::Finish { reason } => {
                if self.finish.is_none() {
                    self.finish = Some(*reason);
                }
            }
            StreamEvent::Usage { usage } => {
                let mut u = *usage;
                if let Some(prev) = self.usage
                    && u.input_tokens == 0
                {
                    u.input_tokens = prev.input_tokens;
                }
                self.usage = Some(u);
            }
            StreamEvent::Error { error } => {
                let code = error_code(&error.kind);
                self.done = true;
                if !self.started {
                    // Nothing began: the error event alone.
                    self.emit_json(
                        "error",
                        json!({"code": code, "message": error.message, "param": null}),
                        out,
                    );
                    return;
                }
                self.close_all(out);
                self.emit_json(
                    "error",
                    json!({"code": code, "message": error.message, "param": null}),
                    out,
                );
                let r = response_object(
                    &self.echo,
                    "failed",
                    self.items.clone(),
                    self.usage.as_ref(),
                    None,
                    Some(json!({"code": code, "message": error.message})),
                );
                self.emit_json("response.failed", json!({"response": r}), out);
                self.final_response = Some(r);
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.ensure_started(out);
        self.end(out);
    }
}
