//! A Responses event stream to canonical events: what the native path
//! reads for accounting (usage, first token, finish reason).

use serde_json::Value;

use super::response::{parts_of_output, response_from_value, stop_reason_of};
use crate::canonical::{ConvertError, StreamEvent, TokenUsage};
use crate::dialect::{StreamDecode, stream_error};
use crate::sse::SseParser;

/// A Responses event stream to canonical events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
    /// (item id, canonical call index, arguments seen).
    calls: Vec<(String, u32, bool)>,
    ended: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn event(&mut self, data: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        if data == b"[DONE]" {
            return Ok(());
        }
        let v: Value = serde_json::from_slice(data)
            .map_err(|e| ConvertError::new("stream", format!("invalid event: {e}")))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        let ty = s("type");
        if !self.started && ty != "error" {
            self.started = true;
            let r = v.get("response").unwrap_or(&Value::Null);
            let rs = |k: &str| {
                r.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            out.push(StreamEvent::Start {
                id: rs("id"),
                model: rs("model"),
                created: r.get("created_at").and_then(Value::as_u64).unwrap_or(0),
                usage: TokenUsage::default(),
            });
        }
        match ty {
            "response.output_text.delta" | "response.refusal.delta" => {
                let d = s("delta");
                if !d.is_empty() {
                    out.push(StreamEvent::TextDelta { text: d.into() });
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let d = s("delta");
                if !d.is_empty() {
                    out.push(StreamEvent::ThinkingDelta { text: d.into() });
                }
            }
            "response.output_item.added" => {
                let item = v.get("item").unwrap_or(&Value::Null);
                let is = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default();
                if matches!(is("type"), "function_call" | "custom_tool_call") {
                    let index = self.calls.len() as u32;
                    self.calls.push((is("id").to_string(), index, false));
                    out.push(StreamEvent::ToolCallStart {
                        index,
                        id: is("call_id").into(),
                        name: is("name").into(),
                    });
                }
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                let id = s("item_id");
                if let Some(c) = self.calls.iter_mut().find(|c| c.0 == id) {
                    c.2 = true;
                    let d = s("delta");
                    if !d.is_empty() {
                        out.push(StreamEvent::ToolCallDelta {
                            index: c.1,
                            arguments: d.into(),
                        });
                    }
                }
            }
            "response.function_call_arguments.done" | "response.custom_tool_call_input.done" => {
                let id = s("item_id");
                if let Some(c) = self.calls.iter_mut().find(|c| c.0 == id)
                    && !c.2
                {
                    c.2 = true;
                    let whole = v
                        .get("arguments")
                        .or_else(|| v.get("input"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !whole.is_empty() {
                        out.push(StreamEvent::ToolCallDelta {
                            index: c.1,
                            arguments: whole.into(),
                        });
                    }
                }
            }
            "response.completed" | "response.incomplete" => {
                let r = v.get("response").unwrap_or(&Value::Null);
                let calls = !self.calls.is_empty()
                    || parts_of_output(
                        r.get("output")
                            .and_then(Value::as_array)
                            .map(Vec::as_slice)
                            .unwrap_or_default(),
                    )
                    .1;
                self.ended = true;
                out.push(StreamEvent::Finish {
                    reason: stop_reason_of(r, calls),
                });
                if let Ok(resp) = response_from_value(r)
                    && r.get("usage").is_some_and(|u| !u.is_null())
                {
                    out.push(StreamEvent::Usage { usage: resp.usage });
                }
            }
            "response.failed" | "error" => {
                let e = v
                    .pointer("/response/error")
                    .filter(|e| !e.is_null())
                    .unwrap_or(&v);
                let message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("upstream error");
                let status = match e.get("code").and_then(Value::as_str) {
                    Some("rate_limit_exceeded") => Some(429),
                    Some("server_error") => Some(500),
                    _ => None,
                };
                if !self.ended {
                    self.ended = true;
                    out.push(StreamEvent::Error {
                        error: stream_error(status, message),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        self.sse.push(chunk);
        while let Some((_, data)) = self.sse.next_data()? {
            self.event(&data, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        if let Some(ev) = self.sse.finish()
            && let Some(data) = &ev.data
        {
            self.event(data, out)?;
        }
        Ok(())
    }
}
