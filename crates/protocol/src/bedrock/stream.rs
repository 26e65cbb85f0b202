//! ConverseStream event streams to and from canonical events.

use serde::Deserialize;
use serde_json::{Value, json};

use super::eventstream::{Frame, FrameDecoder, encode_frame};
use super::response::{WireUsage, exception_error, stop_reason_from, stop_reason_to, usage_json};
use crate::canonical::{ConvertError, StopReason, StreamError, StreamEvent, TokenUsage};
use crate::dialect::{StreamDecode, StreamEncode};

// Payload shapes. Every payload also has a random-length `p` padding field,
// ignored like any other unknown field.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    content_block_index: u32,
    #[serde(default)]
    start: Option<StartBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    #[serde(default)]
    tool_use: Option<StartToolUse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartToolUse {
    #[serde(default)]
    tool_use_id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    content_block_index: u32,
    #[serde(default)]
    delta: Option<DeltaBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaBody {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<DeltaToolUse>,
    #[serde(default)]
    reasoning_content: Option<DeltaReasoning>,
}

#[derive(Deserialize)]
struct DeltaToolUse {
    #[serde(default)]
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaReasoning {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    redacted_content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ExceptionBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
}

/// Raw `application/vnd.amazon.eventstream` bytes (ConverseStream) to
/// canonical events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    frames: FrameDecoder,
    started: bool,
    /// Converse `contentBlockIndex` -> canonical tool-call index.
    tool_blocks: Vec<(u32, u32)>,
    next_tool: u32,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: String::new(),
                model: String::new(),
                created: 0,
                usage: TokenUsage::default(),
            });
        }
    }

    fn tool_index(
        &mut self,
        block: u32,
        id: String,
        name: String,
        out: &mut Vec<StreamEvent>,
    ) -> u32 {
        if let Some((_, t)) = self.tool_blocks.iter().find(|(b, _)| *b == block) {
            return *t;
        }
        let index = self.next_tool;
        self.next_tool += 1;
        self.tool_blocks.push((block, index));
        out.push(StreamEvent::ToolCallStart { index, id, name });
        index
    }

    fn frame(&mut self, f: &Frame, out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        let message_type = f.header_str(":message-type").unwrap_or("event");
        match message_type {
            "event" => {}
            "exception" => {
                let kind = f.header_str(":exception-type");
                let body: Option<ExceptionBody> = serde_json::from_slice(&f.payload).ok();
                let message = body
                    .and_then(|b| b.message)
                    .or_else(|| kind.map(str::to_string))
                    .unwrap_or_else(|| "Bedrock stream exception".to_string());
                out.push(StreamEvent::Error {
                    error: exception_error(kind, None, message),
                });
                return Ok(());
            }
            "error" => {
                let code = f.header_str(":error-code");
                let message = f
                    .header_str(":error-message")
                    .or(code)
                    .unwrap_or("Bedrock stream error")
                    .to_string();
                out.push(StreamEvent::Error {
                    error: exception_error(code, None, message),
                });
                return Ok(());
            }
            _ => return Ok(()),
        }
        let Some(event_type) = f.header_str(":event-type") else {
            return Ok(());
        };
        let payload = &f.payload;
        let parse_err = |e: serde_json::Error| {
            ConvertError::new("stream", format!("invalid {event_type} event: {e}"))
        };
        match event_type {
            "messageStart" => self.start(out),
            "contentBlockStart" => {
                let s: BlockStart = serde_json::from_slice(payload).map_err(parse_err)?;
                self.start(out);
                if let Some(tu) = s.start.and_then(|s| s.tool_use) {
                    self.tool_index(s.content_block_index, tu.tool_use_id, tu.name, out);
                }
            }
            "contentBlockDelta" => {
                let d: BlockDelta = serde_json::from_slice(payload).map_err(parse_err)?;
                self.start(out);
                let Some(delta) = d.delta else {
                    return Ok(());
                };
                if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { text });
                }
                if let Some(tu) = delta.tool_use {
                    // A delta without a start is not expected; it still gets
                    // a (nameless) call rather than being lost.
                    let index =
                        self.tool_index(d.content_block_index, String::new(), String::new(), out);
                    if !tu.input.is_empty() {
                        out.push(StreamEvent::ToolCallDelta {
                            index,
                            arguments: tu.input,
                        });
                    }
                }
                if let Some(r) = delta.reasoning_content {
                    if let Some(text) = r.text.filter(|t| !t.is_empty()) {
                        out.push(StreamEvent::ThinkingDelta { text });
                    }
                    if let Some(signature) = r.signature {
                        out.push(StreamEvent::ThinkingSignature { signature });
                    }
                    if let Some(data) = r.redacted_content {
                        out.push(StreamEvent::RedactedThinking { data });
                    }
                }
            }
            "contentBlockStop" => {}
            "messageStop" => {
                let s: MessageStop = serde_json::from_slice(payload).map_err(parse_err)?;
                self.start(out);
                out.push(StreamEvent::Finish {
                    reason: s
                        .stop_reason
                        .as_deref()
                        .map_or(StopReason::Stop, stop_reason_from),
                });
            }
            "metadata" => {
                let m: Metadata = serde_json::from_slice(payload).map_err(parse_err)?;
                if let Some(u) = m.usage {
                    out.push(StreamEvent::Usage {
                        usage: u.canonical(),
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
        self.frames.push(chunk);
        while let Some(f) = self.frames.next_frame()? {
            self.frame(&f, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        match self.frames.buffered() {
            0 => Ok(()),
            n => Err(ConvertError::new(
                "event-stream",
                format!("stream ended inside a frame ({n} bytes left over)"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Reasoning,
    /// Reasoning whose signature has been sent: more reasoning opens a new
    /// block.
    SignedReasoning,
}

/// Canonical events to ConverseStream event-stream frames (for the emulator
/// and tests). Frames carry no `p` padding.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    started: bool,
    next_block: u32,
    /// The open text or reasoning block.
    open: Option<(u32, Block)>,
    /// Open tool-use blocks: (canonical tool index, block index, arguments
    /// so far). Several may be open at once when a source interleaves
    /// parallel calls' arguments.
    tools: Vec<(u32, u32, String)>,
    stopped: bool,
    usage: Option<TokenUsage>,
    done: bool,
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn event(&mut self, event_type: &str, payload: &Value, out: &mut Vec<u8>) {
        let body = serde_json::to_vec(payload).unwrap_or_default();
        out.extend_from_slice(&encode_frame(
            &[
                (":event-type", event_type),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            &body,
        ));
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.event("messageStart", &json!({"role": "assistant"}), out);
        }
    }

    fn close_open(&mut self, out: &mut Vec<u8>) {
        if let Some((idx, _)) = self.open.take() {
            self.event("contentBlockStop", &json!({"contentBlockIndex": idx}), out);
        }
    }

    fn close_all(&mut self, out: &mut Vec<u8>) {
        self.close_open(out);
        for (_, idx, _) in std::mem::take(&mut self.tools) {
            self.event("contentBlockStop", &json!({"contentBlockIndex": idx}), out);
        }
    }

    /// Before a new tool block: close the open text or reasoning block, and
    /// the tool blocks whose arguments are already a complete JSON value (no
    /// valid fragment can follow), so that blocks close in order, each
    /// before the next starts, as ConverseStream does. A call whose
    /// arguments are still incomplete stays open for an interleaving source.
    fn close_for_tool(&mut self, out: &mut Vec<u8>) {
        self.close_open(out);
        let (done, open): (Vec<_>, Vec<_>) = std::mem::take(&mut self.tools)
            .into_iter()
            .partition(|(_, _, args)| serde_json::from_str::<serde::de::IgnoredAny>(args).is_ok());
        self.tools = open;
        for (_, idx, _) in done {
            self.event("contentBlockStop", &json!({"contentBlockIndex": idx}), out);
        }
    }

    /// A new tool-use block for call `index`.
    fn start_tool(&mut self, index: u32, id: &str, name: &str, out: &mut Vec<u8>) -> u32 {
        self.ensure_started(out);
        self.close_for_tool(out);
        let idx = self.next_block;
        self.next_block += 1;
        self.tools.push((index, idx, String::new()));
        self.event(
            "contentBlockStart",
            &json!({"contentBlockIndex": idx, "start": {"toolUse": {"toolUseId": id, "name": name}}}),
            out,
        );
        idx
    }

    /// The block for `kind`, opening one (and closing others) if needed.
    fn block(&mut self, kind: Block, out: &mut Vec<u8>) -> u32 {
        self.ensure_started(out);
        let reuse = match (self.open, kind) {
            (Some((idx, open)), _) if open == kind => Some(idx),
            // A signature continues the reasoning block it belongs to.
            (Some((idx, Block::Reasoning)), Block::SignedReasoning) => Some(idx),
            _ => None,
        };
        if let Some(idx) = reuse {
            self.open = Some((idx, kind));
            return idx;
        }
        self.close_all(out);
        let idx = self.next_block;
        self.next_block += 1;
        self.open = Some((idx, kind));
        idx
    }

    fn delta(&mut self, idx: u32, delta: Value, out: &mut Vec<u8>) {
        self.event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": idx, "delta": delta}),
            out,
        );
    }

    fn stop(&mut self, reason: StopReason, out: &mut Vec<u8>) {
        self.ensure_started(out);
        self.close_all(out);
        self.stopped = true;
        self.event(
            "messageStop",
            &json!({"stopReason": stop_reason_to(reason)}),
            out,
        );
    }
}

/// The `:exception-type` for a canonical error status.
fn exception_type(status: Option<u16>) -> &'static str {
    match status {
        Some(400 | 404 | 413 | 422) => "validationException",
        Some(401 | 403) => "accessDeniedException",
        Some(408) => "modelTimeoutException",
        Some(424) => "modelStreamErrorException",
        Some(429) => "throttlingException",
        Some(503 | 529) => "serviceUnavailableException",
        _ => "internalServerException",
    }
}

fn exception_frame(error: &StreamError) -> Vec<u8> {
    let body = serde_json::to_vec(&json!({"message": error.message})).unwrap_or_default();
    encode_frame(
        &[
            (":exception-type", exception_type(error.status)),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        &body,
    )
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match ev {
            StreamEvent::Start { usage, .. } => {
                if usage.input_tokens > 0 {
                    self.usage = Some(*usage);
                }
                self.ensure_started(out);
            }
            StreamEvent::TextDelta { text } => {
                if !text.is_empty() {
                    let idx = self.block(Block::Text, out);
                    self.delta(idx, json!({"text": text}), out);
                }
            }
            StreamEvent::ThinkingDelta { text } => {
                let idx = self.block(Block::Reasoning, out);
                self.delta(idx, json!({"reasoningContent": {"text": text}}), out);
            }
            StreamEvent::ThinkingSignature { signature } => {
                let idx = self.block(Block::SignedReasoning, out);
                self.delta(
                    idx,
                    json!({"reasoningContent": {"signature": signature}}),
                    out,
                );
            }
            StreamEvent::RedactedThinking { data } => {
                // A block of its own, closed at once.
                self.ensure_started(out);
                self.close_all(out);
                let idx = self.next_block;
                self.next_block += 1;
                self.delta(
                    idx,
                    json!({"reasoningContent": {"redactedContent": data}}),
                    out,
                );
                self.event("contentBlockStop", &json!({"contentBlockIndex": idx}), out);
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.start_tool(*index, id, name, out);
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                let idx = match self.tools.iter_mut().find(|(t, _, _)| t == index) {
                    Some((_, idx, args)) => {
                        args.push_str(arguments);
                        *idx
                    }
                    None => {
                        // Arguments for a call that was never started (or
                        // whose block was closed): give it a block.
                        let idx = self.start_tool(*index, "", "", out);
                        if let Some((_, _, args)) = self.tools.last_mut() {
                            args.push_str(arguments);
                        }
                        idx
                    }
                };
                self.delta(idx, json!({"toolUse": {"input": arguments}}), out);
            }
            StreamEvent::Finish { reason } => {
                if !self.stopped {
                    self.stop(*reason, out);
                }
            }
            StreamEvent::Usage { usage } => self.usage = Some(*usage),
            StreamEvent::Error { error } => {
                out.extend_from_slice(&exception_frame(error));
                self.done = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.done = true;
        if !self.stopped {
            self.stop(StopReason::Stop, out);
        }
        let usage = self.usage.unwrap_or_default();
        self.event(
            "metadata",
            &json!({"usage": usage_json(&usage), "metrics": {"latencyMs": 0}}),
            out,
        );
    }
}
