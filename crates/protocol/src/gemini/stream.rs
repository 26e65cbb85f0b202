//! `streamGenerateContent?alt=sse` streams to and from canonical events.
//!
//! Each SSE `data:` event is a whole `GenerateContentResponse` holding the
//! new parts only, with cumulative `usageMetadata`. Gemini sends function
//! calls complete (never as argument fragments).

use serde_json::{Map, Value, json};

use super::wire::{
    Strictness, WPart, WResponse, args_text, args_value, code_for_kind, error_from_value,
    error_json, format_rfc3339, generated_call_id, parse_rfc3339, stop_reason_from, stop_reason_to,
    usage_json,
};
use crate::canonical::{ConvertError, StopReason, StreamEvent, TokenUsage};
use crate::dialect::{StreamDecode, StreamEncode};
use crate::sse::SseParser;

/// Gemini SSE to canonical events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
    /// Tool calls seen so far (the next call's canonical index).
    tools: u32,
    /// The answer's `responseId` (from the first chunk that has one), from
    /// which ids are made up for id-less calls.
    response_id: Option<String>,
    finished: bool,
    usage: TokenUsage,
    usage_emitted: bool,
    ended: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn data(&mut self, data: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        let trimmed = data.trim_ascii();
        if trimmed.is_empty() || trimmed == b"[DONE]" {
            return Ok(());
        }
        let chunk: WResponse = serde_json::from_slice(trimmed)
            .map_err(|e| ConvertError::new("stream", format!("invalid chunk: {e}")))?;
        if let Some(e) = &chunk.error {
            out.push(StreamEvent::Error {
                error: error_from_value(e, None),
            });
            return Ok(());
        }
        let usage = chunk.usage_metadata.map(|u| u.canonical());
        if self.response_id.is_none() {
            self.response_id = chunk.response_id.clone().filter(|r| !r.is_empty());
        }
        if !self.started {
            self.started = true;
            self.usage = usage.unwrap_or_default();
            out.push(StreamEvent::Start {
                id: chunk.response_id.clone().unwrap_or_default(),
                model: chunk.model_version.clone().unwrap_or_default(),
                created: chunk
                    .create_time
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .unwrap_or(0),
                usage: self.usage,
            });
        }
        match chunk.candidates.into_iter().next() {
            Some(c) => {
                for p in c.content.map(|c| c.parts).unwrap_or_default() {
                    self.part(p, out);
                }
                if let Some(r) = c.finish_reason {
                    let mut reason = stop_reason_from(&r);
                    if reason == StopReason::Stop && self.tools > 0 {
                        reason = StopReason::ToolCalls;
                    }
                    self.finish_with(reason, out);
                }
            }
            None => {
                if chunk.prompt_feedback.and_then(|f| f.block_reason).is_some() {
                    self.finish_with(StopReason::ContentFilter, out);
                }
            }
        }
        if let Some(u) = usage
            && u != self.usage
        {
            self.usage = u;
            self.usage_emitted = true;
            out.push(StreamEvent::Usage { usage: u });
        }
        Ok(())
    }

    fn finish_with(&mut self, reason: StopReason, out: &mut Vec<StreamEvent>) {
        if !self.finished {
            self.finished = true;
            out.push(StreamEvent::Finish { reason });
        }
    }

    /// The events of one part. A signature on a non-thought part comes
    /// before that part's events, so that it closes the thinking before it.
    fn part(&mut self, p: WPart, out: &mut Vec<StreamEvent>) {
        let sig = p.thought_signature.filter(|s| !s.is_empty());
        let signature = |out: &mut Vec<StreamEvent>, sig: Option<String>| {
            if let Some(signature) = sig {
                out.push(StreamEvent::ThinkingSignature { signature });
            }
        };
        if let Some(fc) = p.function_call {
            signature(out, sig);
            let index = self.tools;
            self.tools += 1;
            let arguments = args_text(fc.args);
            let id = fc.id.filter(|i| !i.is_empty()).unwrap_or_else(|| {
                generated_call_id(self.response_id.as_deref(), &fc.name, &arguments, index)
            });
            out.push(StreamEvent::ToolCallStart {
                index,
                id,
                name: fc.name,
            });
            out.push(StreamEvent::ToolCallDelta { index, arguments });
        } else if p.function_response.is_some() {
            // Not something a model sends.
        } else if let Some(text) = p.text {
            if p.thought == Some(true) {
                if !text.is_empty() {
                    out.push(StreamEvent::ThinkingDelta { text });
                }
                signature(out, sig);
            } else {
                signature(out, sig);
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta { text });
                }
            }
        } else {
            // Images and other parts have no stream event: dropped.
            signature(out, sig);
        }
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        self.sse.push(chunk);
        while let Some((_, data)) = self.sse.next_data()? {
            self.data(&data, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        if let Some(ev) = self.sse.finish()
            && let Some(data) = &ev.data
        {
            self.data(data, out)?;
        }
        if self.started && !self.usage_emitted {
            self.usage_emitted = true;
            out.push(StreamEvent::Usage { usage: self.usage });
        }
        Ok(())
    }
}

/// A tool call whose argument fragments are still arriving.
#[derive(Debug)]
struct OpenCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// Canonical events to Gemini SSE (`data: {...}\r\n\r\n`, no terminator)
/// for a Gemini client.
///
/// One chunk per text or thinking delta; a tool call is buffered until it
/// is complete and sent as one `functionCall` part; a thinking signature is
/// put on the next part (as Gemini does) or, when thinking follows or the
/// stream ends, on an empty thought part. The finish reason waits for the
/// end of the stream so that it shares the last chunk with the final usage.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    /// `:streamGenerateContent` without `alt=sse`: one JSON array, each
    /// chunk an element (`[{...}\n,{...}\n]`), written as it comes.
    json_array: bool,
    /// The array's `[` is written.
    opened: bool,
    /// The array's `]` is written.
    closed: bool,
    id: String,
    model: String,
    created: u64,
    usage: Option<TokenUsage>,
    /// The usage written on the latest chunk.
    sent_usage: Option<TokenUsage>,
    pending_sig: Option<String>,
    call: Option<OpenCall>,
    finish: Option<StopReason>,
    done: bool,
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The JSON-array form Gemini streams without `alt=sse`.
    pub fn json_array() -> Self {
        StreamEncoder {
            json_array: true,
            ..Self::default()
        }
    }

    fn write(&mut self, value: &Value, out: &mut Vec<u8>) {
        if self.json_array {
            out.extend_from_slice(if self.opened { b"\n," } else { b"[" });
            self.opened = true;
            if let Ok(b) = serde_json::to_vec(value) {
                out.extend_from_slice(&b);
            }
            return;
        }
        out.extend_from_slice(b"data: ");
        if let Ok(b) = serde_json::to_vec(value) {
            out.extend_from_slice(&b);
        }
        out.extend_from_slice(b"\r\n\r\n");
    }

    /// The array's end (after an error element too).
    fn close(&mut self, out: &mut Vec<u8>) {
        if !self.json_array || self.closed {
            return;
        }
        self.closed = true;
        out.extend_from_slice(if self.opened { b"\n]" } else { b"[]" });
    }

    fn chunk(&mut self, parts: Vec<Value>, finish: Option<StopReason>, out: &mut Vec<u8>) {
        let mut body = Map::new();
        if !parts.is_empty() || finish.is_some() {
            let mut cand = Map::new();
            if !parts.is_empty() {
                cand.insert("content".into(), json!({"role": "model", "parts": parts}));
            }
            if let Some(r) = finish {
                cand.insert("finishReason".into(), stop_reason_to(r).into());
            }
            cand.insert("index".into(), 0.into());
            body.insert("candidates".into(), json!([cand]));
        }
        if let Some(u) = &self.usage {
            body.insert("usageMetadata".into(), usage_json(u));
        }
        if !self.model.is_empty() {
            body.insert("modelVersion".into(), self.model.clone().into());
        }
        if !self.id.is_empty() {
            body.insert("responseId".into(), self.id.clone().into());
        }
        if self.created > 0 {
            body.insert("createTime".into(), format_rfc3339(self.created).into());
        }
        self.sent_usage = self.usage;
        self.write(&Value::Object(body), out);
    }

    fn with_sig(&mut self, mut part: Map<String, Value>) -> Vec<Value> {
        if let Some(s) = self.pending_sig.take() {
            part.insert("thoughtSignature".into(), s.into());
        }
        vec![Value::Object(part)]
    }

    /// A signature that no part will carry, on an empty thought part.
    fn sig_part(&mut self) -> Option<Value> {
        self.pending_sig
            .take()
            .map(|s| json!({"text": "", "thought": true, "thoughtSignature": s}))
    }

    fn flush_sig(&mut self, out: &mut Vec<u8>) {
        if let Some(p) = self.sig_part() {
            self.chunk(vec![p], None, out);
        }
    }

    fn flush_call(&mut self, out: &mut Vec<u8>) {
        let Some(c) = self.call.take() else { return };
        let mut fc = Map::new();
        if !c.id.is_empty() {
            fc.insert("id".into(), c.id.into());
        }
        fc.insert("name".into(), c.name.into());
        fc.insert(
            "args".into(),
            args_value(&c.arguments, Strictness::Lenient, "").unwrap_or_else(|_| json!({})),
        );
        let mut part = Map::new();
        part.insert("functionCall".into(), Value::Object(fc));
        let parts = self.with_sig(part);
        self.chunk(parts, None, out);
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
                self.id = id.clone();
                self.model = model.clone();
                self.created = *created;
                self.usage = Some(*usage);
            }
            StreamEvent::TextDelta { text } => {
                self.flush_call(out);
                if text.is_empty() {
                    return;
                }
                let mut part = Map::new();
                part.insert("text".into(), text.clone().into());
                let parts = self.with_sig(part);
                self.chunk(parts, None, out);
            }
            StreamEvent::ThinkingDelta { text } => {
                self.flush_call(out);
                self.flush_sig(out);
                if !text.is_empty() {
                    self.chunk(vec![json!({"text": text, "thought": true})], None, out);
                }
            }
            StreamEvent::ThinkingSignature { signature } => {
                self.flush_call(out);
                self.flush_sig(out);
                self.pending_sig = Some(signature.clone());
            }
            StreamEvent::RedactedThinking { .. } => {
                // Nothing Gemini can carry.
                self.flush_call(out);
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.flush_call(out);
                self.call = Some(OpenCall {
                    index: *index,
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                });
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if let Some(c) = self.call.as_mut().filter(|c| c.index == *index) {
                    c.arguments.push_str(arguments);
                }
            }
            StreamEvent::Finish { reason } => {
                self.flush_call(out);
                self.finish = Some(*reason);
            }
            StreamEvent::Usage { usage } => {
                self.usage = Some(*usage);
            }
            StreamEvent::Error { error } => {
                self.flush_call(out);
                self.flush_sig(out);
                let code = error.status.unwrap_or_else(|| code_for_kind(&error.kind));
                let body = error_json(code, error);
                self.write(&body, out);
                self.done = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            self.close(out);
            return;
        }
        self.done = true;
        self.flush_call(out);
        let sig = self.sig_part();
        match (self.finish, sig) {
            (Some(reason), sig) => {
                let part = sig.unwrap_or_else(|| json!({"text": ""}));
                self.chunk(vec![part], Some(reason), out);
            }
            (None, Some(part)) => self.chunk(vec![part], None, out),
            (None, None) => {
                if self.usage.is_some() && self.usage != self.sent_usage {
                    self.chunk(vec![], None, out);
                }
            }
        }
        self.close(out);
    }
}
