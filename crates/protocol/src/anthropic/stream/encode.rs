//! Canonical events to Anthropic Messages SSE: [`StreamEncoder`].

use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Serialize;
use serde_json::{Value, json};

use crate::anthropic::response::error_body;
use crate::anthropic::stop_reason_to;
use crate::anthropic::wire::OutUsage;
use crate::canonical::{StopReason, StreamEvent, TokenUsage};
use crate::dialect::StreamEncode;

/// The content block the encoder has open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    Text { block: u32 },
    Thinking { block: u32, signed: bool },
    Tool { block: u32, tool: u32 },
}

/// Canonical events to Anthropic Messages SSE for a Claude client.
///
/// Writes `message_start`, then one `content_block_start` / `_delta`s /
/// `_stop` run per text, thinking, redacted-thinking or tool-call block
/// with increasing indexes, then `message_delta` (stop reason and usage)
/// and `message_stop`. After a `Finish` it holds `message_delta` until the
/// next `Usage` or [`finish`](StreamEncode::finish). Deltas of a tool call
/// whose block was already closed (an upstream interleaving parallel calls)
/// are written against that call's block index, which the Anthropic SDKs
/// accumulate correctly; deltas of a call never started, and content that
/// follows `Finish`, are dropped.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    started: bool,
    id: String,
    model: String,
    created: u64,
    usage: TokenUsage,
    next_block: u32,
    open: Option<Open>,
    /// Canonical tool index to Anthropic block index.
    tool_blocks: Vec<(u32, u32)>,
    stop: Option<StopReason>,
    done: bool,
}

fn write_event<T: Serialize>(out: &mut Vec<u8>, name: &str, data: &T) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // Serializing these shapes into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

fn hashed_id(prefix: &str, parts: impl Hash) -> String {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    let a = h.finish();
    a.hash(&mut h);
    format!("{prefix}{a:016x}{:08x}", h.finish() >> 32)
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        if self.id.is_empty() {
            let u = &self.usage;
            let this = self as *const Self as usize;
            self.id = hashed_id(
                "msg_",
                (
                    &self.model,
                    self.created,
                    u.input_tokens,
                    u.cached_tokens,
                    u.cache_creation_tokens,
                    this,
                ),
            );
        }
        let body = json!({
            "type": "message_start",
            "message": {
                "id": self.id,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": OutUsage::from(&self.usage),
            },
        });
        write_event(out, "message_start", &body);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let block = match open {
            Open::Thinking {
                block,
                signed: false,
            } => {
                self.delta(
                    out,
                    block,
                    json!({"type": "signature_delta", "signature": ""}),
                );
                block
            }
            Open::Text { block } | Open::Thinking { block, .. } | Open::Tool { block, .. } => block,
        };
        write_event(
            out,
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": block}),
        );
    }

    /// Close what is open and start a new block at the next index.
    fn start(&mut self, out: &mut Vec<u8>, content_block: Value) -> u32 {
        self.close(out);
        let block = self.next_block;
        self.next_block += 1;
        write_event(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": block, "content_block": content_block}),
        );
        block
    }

    fn delta(&mut self, out: &mut Vec<u8>, block: u32, delta: Value) {
        write_event(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": block, "delta": delta}),
        );
    }

    fn thinking_block(&mut self, out: &mut Vec<u8>) -> u32 {
        match self.open {
            Some(Open::Thinking {
                block,
                signed: false,
            }) => block,
            _ => {
                let block = self.start(
                    out,
                    json!({"type": "thinking", "thinking": "", "signature": ""}),
                );
                self.open = Some(Open::Thinking {
                    block,
                    signed: false,
                });
                block
            }
        }
    }

    fn write_end(&mut self, out: &mut Vec<u8>) {
        self.close(out);
        let reason = self.stop.unwrap_or(StopReason::Stop);
        let body = json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason_to(reason), "stop_sequence": null},
            "usage": OutUsage::from(&self.usage),
        });
        write_event(out, "message_delta", &body);
        write_event(out, "message_stop", &json!({"type": "message_stop"}));
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
                if !self.started {
                    self.id = id.clone();
                    self.model = model.clone();
                    self.created = *created;
                    self.usage = *usage;
                    self.ensure_started(out);
                }
            }
            StreamEvent::TextDelta { text } => {
                if text.is_empty() || self.stop.is_some() {
                    return;
                }
                self.ensure_started(out);
                let block = match self.open {
                    Some(Open::Text { block }) => block,
                    _ => {
                        let block = self.start(out, json!({"type": "text", "text": ""}));
                        self.open = Some(Open::Text { block });
                        block
                    }
                };
                self.delta(out, block, json!({"type": "text_delta", "text": text}));
            }
            StreamEvent::ThinkingDelta { text } => {
                if text.is_empty() || self.stop.is_some() {
                    return;
                }
                self.ensure_started(out);
                let block = self.thinking_block(out);
                self.delta(
                    out,
                    block,
                    json!({"type": "thinking_delta", "thinking": text}),
                );
            }
            StreamEvent::ThinkingSignature { signature } => {
                if signature.is_empty() || self.stop.is_some() {
                    return;
                }
                self.ensure_started(out);
                let block = self.thinking_block(out);
                self.delta(
                    out,
                    block,
                    json!({"type": "signature_delta", "signature": signature}),
                );
                self.open = Some(Open::Thinking {
                    block,
                    signed: true,
                });
            }
            StreamEvent::RedactedThinking { data } => {
                if self.stop.is_some() {
                    return;
                }
                self.ensure_started(out);
                let block = self.start(out, json!({"type": "redacted_thinking", "data": data}));
                write_event(
                    out,
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": block}),
                );
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                if self.stop.is_some() {
                    return;
                }
                self.ensure_started(out);
                let id = if id.is_empty() {
                    hashed_id("toolu_", (&self.id, index, name))
                } else {
                    id.clone()
                };
                let block = self.start(
                    out,
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                );
                self.open = Some(Open::Tool {
                    block,
                    tool: *index,
                });
                self.tool_blocks.push((*index, block));
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if arguments.is_empty() || self.stop.is_some() {
                    return;
                }
                let block = match self.open {
                    Some(Open::Tool { block, tool }) if tool == *index => Some(block),
                    _ => self
                        .tool_blocks
                        .iter()
                        .rev()
                        .find(|(t, _)| t == index)
                        .map(|(_, b)| *b),
                };
                if let Some(block) = block {
                    self.delta(
                        out,
                        block,
                        json!({"type": "input_json_delta", "partial_json": arguments}),
                    );
                }
            }
            StreamEvent::Finish { reason } => {
                if self.stop.is_none() {
                    self.ensure_started(out);
                    self.close(out);
                    self.stop = Some(*reason);
                }
            }
            StreamEvent::Usage { usage } => {
                self.usage = *usage;
                if self.stop.is_some() {
                    self.write_end(out);
                }
            }
            StreamEvent::Error { error } => {
                if self.started {
                    self.close(out);
                }
                let status = error.status.unwrap_or(500);
                write_event(out, "error", &error_body(status, error));
                self.done = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.ensure_started(out);
        self.write_end(out);
    }
}
