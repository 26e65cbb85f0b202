//! Anthropic Messages SSE to canonical events: [`StreamDecoder`].

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::anthropic::stop_reason_from;
use crate::anthropic::wire::{TypeOnly, WireBlock, WireUsage, arguments_text, status_for_kind};
use crate::canonical::{ConvertError, StreamError, StreamEvent};
use crate::dialect::StreamDecode;
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
        while let Some((ev, data)) = self.sse.next_data()? {
            self.event(ev.event_str(), &data, out)?;
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
