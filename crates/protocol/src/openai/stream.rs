//! OpenAI `chat.completion.chunk` streams to and from canonical events.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::response::{WireUsage, error_type, usage_json};
use super::{stop_reason_from, stop_reason_to};
use crate::canonical::{ConvertError, StopReason, StreamEvent, TokenUsage};
use crate::dialect::{StreamDecode, StreamEncode, stream_error};
use crate::sse::SseParser;

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    created: u64,
    #[serde(default, deserialize_with = "super::null_as_empty")]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    /// OpenRouter's name for the same thing.
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default, deserialize_with = "super::null_as_empty")]
    tool_calls: Vec<DeltaCall>,
}

#[derive(Deserialize)]
struct DeltaCall {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<DeltaFn>,
}

#[derive(Deserialize)]
struct DeltaFn {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// OpenAI-style SSE to canonical events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
    /// OpenAI tool `index` of calls already started.
    tools_seen: Vec<u32>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn event(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ConvertError> {
        if data == b"[DONE]" {
            return Ok(());
        }
        let chunk: Chunk = serde_json::from_slice(data)
            .map_err(|e| ConvertError::new("stream", format!("invalid chunk: {e}")))?;
        if event == Some("error") || chunk.error.is_some() {
            let e = chunk.error.unwrap_or(Value::Null);
            let status = e
                .get("status_code")
                .or_else(|| e.get("code"))
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok());
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error")
                .to_string();
            out.push(StreamEvent::Error {
                error: stream_error(status, msg),
            });
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk.id.clone(),
                model: chunk.model.clone(),
                created: chunk.created,
                usage: TokenUsage::default(),
            });
        }
        for c in chunk.choices.into_iter().take(1) {
            if let Some(d) = c.delta {
                if let Some(r) = d
                    .reasoning_content
                    .or(d.reasoning)
                    .filter(|r| !r.is_empty())
                {
                    out.push(StreamEvent::ThinkingDelta { text: r });
                }
                if let Some(t) = d.content.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { text: t });
                }
                for (k, tc) in d.tool_calls.into_iter().enumerate() {
                    let index = tc.index.unwrap_or(k as u32);
                    let (name, args) = match tc.function {
                        Some(f) => (f.name, f.arguments),
                        None => (None, None),
                    };
                    if !self.tools_seen.contains(&index) {
                        self.tools_seen.push(index);
                        out.push(StreamEvent::ToolCallStart {
                            index,
                            id: tc.id.unwrap_or_default(),
                            name: name.unwrap_or_default(),
                        });
                    }
                    if let Some(a) = args.filter(|a| !a.is_empty()) {
                        out.push(StreamEvent::ToolCallDelta {
                            index,
                            arguments: a,
                        });
                    }
                }
            }
            if let Some(r) = c.finish_reason {
                out.push(StreamEvent::Finish {
                    reason: stop_reason_from(&r),
                });
            }
        }
        if let Some(u) = chunk.usage {
            out.push(StreamEvent::Usage {
                usage: u.canonical(),
            });
        }
        Ok(())
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        self.sse.push(chunk);
        while let Some((ev, data)) = self.sse.next_data()? {
            self.event(ev.event_str(), &data, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ConvertError> {
        if let Some(ev) = self.sse.finish()
            && let Some(data) = &ev.data
        {
            let name = ev.event_str().map(str::to_string);
            self.event(name.as_deref(), data, out)?;
        }
        Ok(())
    }
}

/// Canonical events to `chat.completion.chunk` SSE for an OpenAI client.
#[derive(Debug)]
pub struct StreamEncoder {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    role_sent: bool,
    finish: Option<StopReason>,
    usage: Option<TokenUsage>,
    done: bool,
}

impl StreamEncoder {
    /// `include_usage`: the client asked for the final usage chunk.
    pub fn new(include_usage: bool) -> Self {
        StreamEncoder {
            include_usage,
            id: String::new(),
            model: String::new(),
            created: 0,
            role_sent: false,
            finish: None,
            usage: None,
            done: false,
        }
    }

    fn chunk(&mut self, delta: Value, finish: Option<StopReason>, out: &mut Vec<u8>) {
        let mut delta = delta;
        if !self.role_sent {
            self.role_sent = true;
            if let Value::Object(m) = &mut delta {
                m.insert("role".into(), "assistant".into());
            }
        }
        let body = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish.map(stop_reason_to),
            }],
        });
        write_data(&body, out);
    }
}

fn write_data(v: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    // Writing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
    out.extend_from_slice(b"\n\n");
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match ev {
            StreamEvent::Start { id, model, created, usage } => {
                self.id = id.clone();
                self.model = model.clone();
                self.created = *created;
                if usage.input_tokens > 0 {
                    self.usage = Some(*usage);
                }
                self.chunk(json!({"content": ""}), None, out);
            }
            StreamEvent::TextDelta { text } => self.chunk(json!({"content": text}), None, out),
            StreamEvent::ThinkingDelta { text } => self.chunk(json!({"reasoning_content": text}), None, out),
            StreamEvent::ThinkingSignature { .. } | StreamEvent::RedactedThinking { .. } => {}
            StreamEvent::ToolCallStart { index, id, name } => self.chunk(
                json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                None,
                out,
            ),
            StreamEvent::ToolCallDelta { index, arguments } => self.chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}),
                None,
                out,
            ),
            StreamEvent::Finish { reason } => {
                if self.finish.is_none() {
                    self.finish = Some(*reason);
                    self.chunk(Value::Object(Map::new()), Some(*reason), out);
                }
            }
            StreamEvent::Usage { usage } => self.usage = Some(*usage),
            StreamEvent::Error { error } => {
                let body = json!({"error": {"message": error.message, "type": error_type(&error.kind), "code": error.status, "param": null}});
                write_data(&body, out);
                self.done = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.done = true;
        if self.finish.is_none() {
            self.finish = Some(StopReason::Stop);
            self.chunk(Value::Object(Map::new()), Some(StopReason::Stop), out);
        }
        if self.include_usage {
            let usage = self.usage.unwrap_or_default();
            let body = json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": usage_json(&usage),
            });
            write_data(&body, out);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Part, StreamCollector};

    fn fixture(path: &str) -> Vec<u8> {
        let p = format!(
            "{}/../../../shared/fixtures/{path}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn decode_all(bytes: &[u8], pieces: &[usize]) -> Vec<StreamEvent> {
        let mut d = StreamDecoder::new();
        let mut out = vec![];
        let mut at = 0;
        for &n in pieces {
            let end = (at + n).min(bytes.len());
            d.push(&bytes[at..end], &mut out).unwrap();
            at = end;
        }
        d.push(&bytes[at..], &mut out).unwrap();
        d.finish(&mut out).unwrap();
        out
    }

    const STREAMS: [&str; 6] = [
        "openai/chat-stream/response.sse",
        "openai/chat-stream-tools/response.sse",
        "openai/chat-stream-tools-parallel/response.sse",
        "openai/chat-stream-usage/response.sse",
        "openrouter/chat-stream-processing-comments/response.sse",
        "openrouter/chat-stream-reasoning/response.sse",
    ];

    #[test]
    fn fixture_streams_decode_the_same_in_any_chunking() {
        let mut rng = fastrand::Rng::with_seed(7);
        for path in STREAMS {
            let bytes = fixture(path);
            let whole = decode_all(&bytes, &[]);
            assert!(
                matches!(whole.first(), Some(StreamEvent::Start { .. })),
                "{path}"
            );
            let ones = vec![1; bytes.len()];
            assert_eq!(decode_all(&bytes, &ones), whole, "{path} byte by byte");
            for _ in 0..50 {
                let pieces: Vec<usize> = (0..20).map(|_| rng.usize(1..200)).collect();
                assert_eq!(decode_all(&bytes, &pieces), whole, "{path} random split");
            }
        }
    }

    #[test]
    fn parallel_tool_calls_are_assembled() {
        let events = decode_all(
            &fixture("openai/chat-stream-tools-parallel/response.sse"),
            &[],
        );
        let mut c = StreamCollector::default();
        events.iter().for_each(|e| c.push(e));
        let r = c.finish();
        let calls: Vec<_> = r
            .content
            .iter()
            .filter(|p| matches!(p, Part::ToolCall { .. }))
            .collect();
        assert!(calls.len() >= 2, "{calls:?}");
        for call in calls {
            if let Part::ToolCall { arguments, id, .. } = call {
                assert!(!id.is_empty());
                serde_json::from_str::<Value>(arguments).unwrap();
            }
        }
        assert_eq!(r.stop_reason, StopReason::ToolCalls);
    }

    #[test]
    fn groq_error_event_becomes_an_error() {
        let events = decode_all(&fixture("groq/chat-stream-error-event/response.sse"), &[]);
        assert!(
            matches!(events.last(), Some(StreamEvent::Error { .. })),
            "{events:?}"
        );
    }

    #[test]
    fn encoder_output_decodes_back() {
        let usage = TokenUsage {
            input_tokens: 10,
            output_tokens: 5,
            ..Default::default()
        };
        let events = vec![
            StreamEvent::Start {
                id: "chatcmpl-1".into(),
                model: "m".into(),
                created: 5,
                usage: TokenUsage::default(),
            },
            StreamEvent::TextDelta { text: "Hel".into() },
            StreamEvent::TextDelta { text: "lo".into() },
            StreamEvent::ToolCallStart {
                index: 0,
                id: "call_a".into(),
                name: "f".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{\"x\":".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "1}".into(),
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: "call_b".into(),
                name: "g".into(),
            },
            StreamEvent::Finish {
                reason: StopReason::ToolCalls,
            },
            StreamEvent::Usage { usage },
        ];
        let mut enc = StreamEncoder::new(true);
        let mut bytes = vec![];
        for e in &events {
            enc.encode(e, &mut bytes);
        }
        enc.finish(&mut bytes);
        assert!(bytes.ends_with(b"data: [DONE]\n\n"));
        let back = decode_all(&bytes, &[]);
        let (mut a, mut b) = (StreamCollector::default(), StreamCollector::default());
        events.iter().for_each(|e| a.push(e));
        back.iter().for_each(|e| b.push(e));
        assert_eq!(a.finish(), b.finish());
    }
}
