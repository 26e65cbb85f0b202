//! Anthropic Messages SSE streams to and from canonical events.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::response::error_body;
use super::stop_reason_from;
use super::stop_reason_to;
use super::wire::{OutUsage, TypeOnly, WireBlock, WireUsage, arguments_text, status_for_kind};
use crate::canonical::{ConvertError, StopReason, StreamError, StreamEvent, TokenUsage};
use crate::dialect::{StreamDecode, StreamEncode};
use crate::sse::SseParser;

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<Box<RawValue>>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    content_block: Option<Box<RawValue>>,
    #[serde(default)]
    delta: Option<Box<RawValue>>,
    #[serde(default)]
    usage: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
struct StartMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
struct BlockDelta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
}

#[derive(Deserialize, Default)]
struct MessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// What an open Anthropic content block turns into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    /// A `tool_use` block and its canonical tool-call index.
    Tool(u32),
    /// Server-tool and unknown blocks: their deltas are ignored.
    Skip,
}

/// Anthropic Messages SSE to canonical events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
    /// Usage so far, as Anthropic counts it.
    usage: WireUsage,
    /// Anthropic block index to what it is.
    blocks: Vec<(u32, Block)>,
    /// Tool calls seen so far (the next canonical tool index).
    tools: u32,
}

fn parse<'a, T: Deserialize<'a>>(raw: &'a RawValue, what: &str) -> Result<T, ConvertError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ConvertError::new("stream", format!("invalid {what}: {e}")))
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn ensure_started(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: String::new(),
                model: String::new(),
                created: 0,
                usage: self.usage.canonical(),
            });
        }
    }

    fn block(&self, index: u32) -> Option<Block> {
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| *b)
    }

    fn event(
        &mut self,
        name: Option<&str>,
        data: &[u8],
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ConvertError> {
        let ev: WireEvent = serde_json::from_slice(data)
            .map_err(|e| ConvertError::new("stream", format!("invalid event data: {e}")))?;
        let kind = ev.kind.as_deref().or(name).unwrap_or("");
        match kind {
            "message_start" => {
                let m: StartMessage = match &ev.message {
                    Some(raw) => parse(raw, "message_start")?,
                    None => StartMessage::default(),
                };
                if let Some(u) = &m.usage {
                    self.usage.merge(u);
                }
                if !self.started {
                    self.started = true;
                    out.push(StreamEvent::Start {
                        id: m.id,
                        model: m.model,
                        created: 0,
                        usage: self.usage.canonical(),
                    });
                }
            }
            "content_block_start" => {
                self.ensure_started(out);
                let index = ev.index.unwrap_or(0);
                let Some(raw) = &ev.content_block else {
                    self.blocks.push((index, Block::Skip));
                    return Ok(());
                };
                let t: TypeOnly = parse(raw, "content_block")?;
                let block = match t.kind.as_str() {
                    "text" | "thinking" | "redacted_thinking" | "tool_use" => {
                        let b: WireBlock = parse(raw, "content_block")?;
                        self.start_block(b, out)
                    }
                    _ => Block::Skip,
                };
                self.blocks.push((index, block));
            }
            "content_block_delta" => {
                self.ensure_started(out);
                let Some(raw) = &ev.delta else {
                    return Ok(());
                };
                let t: TypeOnly = parse(raw, "delta")?;
                let known = matches!(
                    t.kind.as_str(),
                    "text_delta" | "thinking_delta" | "signature_delta" | "input_json_delta"
                );
                if !known {
                    return Ok(());
                }
                let d: BlockDelta = parse(raw, "delta")?;
                let block = self.block(ev.index.unwrap_or(0));
                match (t.kind.as_str(), block) {
                    ("text_delta", Some(Block::Text) | None) => {
                        if let Some(text) = d.text.filter(|t| !t.is_empty()) {
                            out.push(StreamEvent::TextDelta { text });
                        }
                    }
                    ("thinking_delta", Some(Block::Thinking) | None) => {
                        if let Some(text) = d.thinking.filter(|t| !t.is_empty()) {
                            out.push(StreamEvent::ThinkingDelta { text });
                        }
                    }
                    ("signature_delta", Some(Block::Thinking) | None) => {
                        if let Some(signature) = d.signature.filter(|s| !s.is_empty()) {
                            out.push(StreamEvent::ThinkingSignature { signature });
                        }
                    }
                    ("input_json_delta", Some(Block::Tool(index))) => {
                        if let Some(arguments) = d.partial_json.filter(|a| !a.is_empty()) {
                            out.push(StreamEvent::ToolCallDelta { index, arguments });
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                self.ensure_started(out);
                if let Some(raw) = &ev.delta {
                    let d: MessageDelta = parse(raw, "message_delta")?;
                    if let Some(r) = d.stop_reason {
                        out.push(StreamEvent::Finish {
                            reason: stop_reason_from(&r),
                        });
                    }
                }
                if let Some(raw) = &ev.usage {
                    let u: WireUsage = parse(raw, "usage")?;
                    self.usage.merge(&u);
                    out.push(StreamEvent::Usage {
                        usage: self.usage.canonical(),
                    });
                }
            }
            "error" => {
                let e = ev.error.unwrap_or(Value::Null);
                let kind = e
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("api_error")
                    .to_string();
                let message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("upstream error")
                    .to_string();
                out.push(StreamEvent::Error {
                    error: StreamError {
                        status: status_for_kind(&kind),
                        kind,
                        message,
                    },
                });
            }
            // ping, content_block_stop, message_stop, and newer events.
            _ => {}
        }
        Ok(())
    }

    fn start_block(&mut self, b: WireBlock, out: &mut Vec<StreamEvent>) -> Block {
        match b.kind.as_str() {
            "text" => {
                if let Some(text) = b.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { text });
                }
                Block::Text
            }
            "thinking" => {
                if let Some(text) = b.thinking.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::ThinkingDelta { text });
                }
                if let Some(signature) = b.signature.filter(|s| !s.is_empty()) {
                    out.push(StreamEvent::ThinkingSignature { signature });
                }
                Block::Thinking
            }
            "redacted_thinking" => {
                out.push(StreamEvent::RedactedThinking {
                    data: b.data.unwrap_or_default(),
                });
                Block::Skip
            }
            "tool_use" => {
                let index = self.tools;
                self.tools += 1;
                out.push(StreamEvent::ToolCallStart {
                    index,
                    id: b.id.unwrap_or_default(),
                    name: b.name.unwrap_or_default(),
                });
                // The input is `{}` here and streamed as deltas; anything
                // else is sent as a first fragment.
                let initial = arguments_text(b.input.as_deref());
                if initial != "{}" {
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: initial,
                    });
                }
                Block::Tool(index)
            }
            _ => Block::Skip,
        }
    }

    fn drain(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        while let Some(ev) = self
            .sse
            .next_event()
            .map_err(|e| ConvertError::new("stream", e.to_string()))?
        {
            if let Some(data) = &ev.data {
                let name = ev.event_str().map(str::to_string);
                self.event(name.as_deref(), data, out)?;
            }
        }
        Ok(())
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        self.sse.push(chunk);
        self.drain(out)
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        self.drain(out)?;
        if let Some(ev) = self.sse.finish()
            && let Some(data) = &ev.data
        {
            let name = ev.event_str().map(str::to_string);
            self.event(name.as_deref(), data, out)?;
        }
        Ok(())
    }
}

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
