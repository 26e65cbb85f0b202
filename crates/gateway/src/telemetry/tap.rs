//! What a stream relay sees go by, for accounting: when the first token
//! came, the usage the provider reported, the answer's id, and enough of
//! the output text to estimate tokens when no usage comes.
//!
//! The tap never holds up the stream: it timestamps and keeps references.
//! OpenAI streams relayed as they are keep their events (copied into one
//! buffer, up to [`RETAIN_LIMIT`]) and are only decoded later,
//! off the request path, if the provider sent no usage. Other dialects
//! relayed as they are go through their stream decoder beside the relay.

use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem::Finder;
use switchyard_protocol::canonical::{StopReason, StreamEvent, TokenUsage};
use switchyard_protocol::dialect::StreamDecode;
use switchyard_protocol::openai;
use tokio::time::Instant;

/// Payload bytes of an OpenAI stream kept for a late decode; past this the
/// tap decodes as the events go by.
pub const RETAIN_LIMIT: usize = 256 * 1024;

/// Output text kept for a token estimate; past this only characters are
/// counted (a quarter token each, see `docs/observability.md`).
pub const TEXT_LIMIT: usize = 512 * 1024;

#[derive(Default)]
pub struct Tap {
    pub first_token_at: Option<Instant>,
    pub upstream_end_at: Option<Instant>,
    /// The provider's own count, when it sent one.
    pub usage: Option<TokenUsage>,
    pub chat_id: Option<String>,
    pub response_model: Option<String>,
    pub finish_reason: Option<StopReason>,
    pub text: OutputText,
    /// The stream broke (upstream error or malformed): what the client was told.
    pub interrupted: Option<String>,
    /// OpenAI events kept for a late decode, as relayed (one buffer: the
    /// parser's buffer is not held by them, and no allocation per event).
    retained: Vec<u8>,
    /// Where the first event kept ends (it has the answer's id).
    first_end: usize,
    /// Decodes the relayed bytes beside the relay (non-OpenAI dialects, or
    /// an OpenAI stream past [`RETAIN_LIMIT`]).
    shadow: Option<Box<dyn StreamDecode>>,
    events: Vec<StreamEvent>,
}

/// Output text for an estimate, bounded.
#[derive(Default)]
pub struct OutputText {
    pub text: String,
    /// Characters seen past [`TEXT_LIMIT`].
    pub overflow_chars: u64,
}

impl OutputText {
    pub fn push(&mut self, s: &str) {
        if self.text.len() + s.len() <= TEXT_LIMIT {
            self.text.push_str(s);
        } else {
            self.overflow_chars += s.chars().count() as u64;
        }
    }
}

impl Tap {
    /// A tap for a stream relayed untranslated in `decoder`'s dialect; `None`
    /// means OpenAI (payloads retained, decoded later if needed).
    pub fn passthrough(decoder: Option<Box<dyn StreamDecode>>) -> Self {
        Tap {
            shadow: decoder,
            ..Tap::default()
        }
    }

    fn token(&mut self) {
        if self.first_token_at.is_none() {
            self.first_token_at = Some(Instant::now());
        }
    }

    /// One canonical event (translated streams, and shadow decoding).
    pub fn observe(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::Start {
                id, model, usage, ..
            } => {
                if self.chat_id.is_none() && !id.is_empty() {
                    self.chat_id = Some(id.clone());
                }
                if self.response_model.is_none() && !model.is_empty() {
                    self.response_model = Some(model.clone());
                }
                if reported(usage) {
                    self.usage = Some(*usage);
                }
            }
            StreamEvent::TextDelta { text } | StreamEvent::ThinkingDelta { text } => {
                if !text.is_empty() {
                    self.token();
                    self.text.push(text);
                }
            }
            StreamEvent::ToolCallStart { name, .. } => {
                self.token();
                self.text.push(name);
            }
            StreamEvent::ToolCallDelta { arguments, .. } => {
                self.token();
                self.text.push(arguments);
            }
            StreamEvent::RedactedThinking { .. } => self.token(),
            StreamEvent::ThinkingSignature { .. } => {}
            StreamEvent::Finish { reason } => self.finish_reason = Some(*reason),
            StreamEvent::Usage { usage } => {
                if reported(usage) {
                    // Cumulative: a later count replaces an earlier one,
                    // but a count that only carries output keeps the input
                    // an earlier event gave (Anthropic's message_delta).
                    let mut u = *usage;
                    if let Some(prev) = self.usage
                        && u.input_tokens == 0
                    {
                        u.input_tokens = prev.input_tokens;
                        u.cached_tokens = u.cached_tokens.max(prev.cached_tokens);
                        u.cache_creation_tokens =
                            u.cache_creation_tokens.max(prev.cache_creation_tokens);
                    }
                    self.usage = Some(u);
                }
            }
            StreamEvent::Error { error } => {
                self.interrupted = Some(error.message.clone());
            }
        }
    }

    /// One complete SSE event of a stream relayed untranslated: `raw` its
    /// exact bytes, `data` its payload.
    pub fn relayed(&mut self, raw: &Bytes, data: Option<&Bytes>) {
        if self.shadow.is_some() {
            self.shadow_push(raw);
            return;
        }
        let Some(data) = data else { return };
        if self.first_token_at.is_none() && carries_token(data) {
            self.first_token_at = Some(Instant::now());
        }
        if let Some(r) = finish_reason(data) {
            self.finish_reason = Some(r);
        }
        if self.retained.len() + raw.len() <= RETAIN_LIMIT {
            if self.retained.is_empty() {
                self.first_end = raw.len();
            }
            self.retained.extend_from_slice(raw);
        } else {
            // Too long to keep: decode what was kept, then as it comes.
            self.shadow = Some(Box::new(openai::StreamDecoder::new()));
            let kept = std::mem::take(&mut self.retained);
            self.shadow_push(&kept);
            self.shadow_push(raw);
        }
    }

    fn shadow_push(&mut self, raw: &[u8]) {
        let Some(dec) = self.shadow.as_mut() else {
            return;
        };
        if dec.push(raw, &mut self.events).is_err() {
            // The relay reports malformed streams; the tap just stops.
            self.shadow = None;
        }
        let events = std::mem::take(&mut self.events);
        for ev in &events {
            self.observe(ev);
        }
        self.events = events;
        self.events.clear();
    }

    /// OpenAI usage read by the relay from a chunk.
    pub fn openai_usage(&mut self, u: switchyard_protocol::Usage) {
        self.usage = Some(token_usage(u));
    }

    /// The upstream ended (normally or not).
    pub fn upstream_ended(&mut self) {
        if self.upstream_end_at.is_none() {
            self.upstream_end_at = Some(Instant::now());
        }
    }

    /// About how much memory the tap holds (retained payloads, text).
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Tap>() + self.retained.capacity() + self.text.text.capacity()
    }

    /// The `id` and `model` of the first chunk (`data: {...}`) from its
    /// leading keys; `false` when they are not there as plain strings.
    fn peek_first(&mut self, first: &[u8]) -> bool {
        let Some(json) = first.strip_prefix(b"data:") else {
            return false;
        };
        let Some((Some(id), Some(model))) = super::peek::leading_id_and_model(json) else {
            return false;
        };
        if !id.is_empty() {
            self.chat_id.get_or_insert_with(|| id.to_string());
        }
        if !model.is_empty() {
            self.response_model.get_or_insert_with(|| model.to_string());
        }
        true
    }

    /// Off the request path: decode what was retained, to learn the id and,
    /// when no usage came, the output text.
    pub fn settle(&mut self) {
        if self.retained.is_empty() {
            return;
        }
        let retained = std::mem::take(&mut self.retained);
        if self.usage.is_some() {
            // Only the id is wanted: it is in the first chunk, usually
            // among its leading keys (read there, not decoded).
            if let Some(first) = retained.get(..self.first_end)
                && !self.peek_first(first)
            {
                let mut dec = openai::StreamDecoder::new();
                let mut evs = Vec::new();
                let _ = dec.push(first, &mut evs);
                for ev in &evs {
                    if let StreamEvent::Start { id, model, .. } = ev {
                        self.chat_id.get_or_insert_with(|| id.clone());
                        self.response_model.get_or_insert_with(|| model.clone());
                    }
                }
            }
            return;
        }
        let first_token_at = self.first_token_at;
        self.shadow = Some(Box::new(openai::StreamDecoder::new()));
        self.shadow_push(&retained);
        // Decoding late must not move the time the first token was seen.
        self.first_token_at = first_token_at.or(self.first_token_at);
        self.shadow = None;
    }
}

/// A usage count is reported when it says anything at all: every real
/// call has input tokens, so all zeros means the provider sent none.
pub(super) fn reported(u: &TokenUsage) -> bool {
    u.input_tokens != 0 || u.output_tokens != 0
}

/// Whether an OpenAI chunk's payload carries generated content: a
/// non-empty `content`, `reasoning_content` or `refusal`, or tool calls.
/// A byte search, no parse: the request path pays nothing more.
pub fn carries_token(data: &[u8]) -> bool {
    // Built once: `memmem::find` would build a searcher per event.
    static KEYS: LazyLock<[Finder<'static>; 4]> = LazyLock::new(|| {
        [
            Finder::new(b"\"content\":\""),
            Finder::new(b"\"reasoning_content\":\""),
            Finder::new(b"\"refusal\":\""),
            Finder::new(b"\"text\":\""),
        ]
    });
    static TOOL_CALLS: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"\"tool_calls\":["));
    for key in KEYS.iter() {
        let mut from = 0;
        while let Some(at) = key.find(&data[from..]) {
            let after = from + at + key.needle().len();
            if data.get(after).is_some_and(|b| *b != b'"') {
                return true;
            }
            from = after;
        }
    }
    TOOL_CALLS.find(data).is_some()
}

/// The `finish_reason` of an OpenAI chunk, when it has one (a byte search).
fn finish_reason(data: &[u8]) -> Option<StopReason> {
    static KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"finish_reason\":\""));
    let at = KEY.find(data)? + KEY.needle().len();
    let rest = &data[at..];
    let end = memchr::memchr(b'"', rest)?;
    Some(openai_stop_reason(&rest[..end]))
}

/// An OpenAI `finish_reason` value.
pub(super) fn openai_stop_reason(r: &[u8]) -> StopReason {
    match r {
        b"stop" => StopReason::Stop,
        b"length" => StopReason::Length,
        b"tool_calls" | b"function_call" => StopReason::ToolCalls,
        b"content_filter" => StopReason::ContentFilter,
        _ => StopReason::Other,
    }
}

/// OpenAI usage as canonical usage (OpenAI has no cache-creation count).
pub(super) fn token_usage(u: switchyard_protocol::Usage) -> TokenUsage {
    TokenUsage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cached_tokens: u.cached_tokens,
        cache_creation_tokens: 0,
        reasoning_tokens: u.reasoning_tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_detection() {
        assert!(!carries_token(
            br#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#
        ));
        assert!(carries_token(
            br#"{"choices":[{"delta":{"content":"Hi"}}]}"#
        ));
        assert!(carries_token(
            br#"{"choices":[{"delta":{"reasoning_content":"hm"}}]}"#
        ));
        assert!(carries_token(
            br#"{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}"#
        ));
        assert!(!carries_token(
            br#"{"choices":[],"usage":{"prompt_tokens":1}}"#
        ));
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(
            finish_reason(br#"{"choices":[{"delta":{},"finish_reason":"length"}]}"#),
            Some(StopReason::Length)
        );
        assert_eq!(
            finish_reason(br#"{"choices":[{"delta":{"content":"a"},"finish_reason":null}]}"#),
            None
        );
    }

    fn settled(first: &str) -> Tap {
        let mut tap = Tap::passthrough(None);
        for raw in [
            first,
            "data: {\"id\":\"x\",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        ] {
            let raw = Bytes::from(raw.to_string());
            let data = raw.slice(6..raw.len() - 2);
            tap.relayed(&raw, Some(&data));
        }
        tap.openai_usage(switchyard_protocol::Usage {
            input_tokens: 3,
            output_tokens: 2,
            ..Default::default()
        });
        tap.settle();
        tap
    }

    #[test]
    fn a_streams_id_and_model_come_from_its_first_chunk_peeked_or_decoded() {
        // Leading keys, as OpenAI and vLLM send them: peeked.
        let tap = settled(
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m-1\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
        );
        assert_eq!(tap.chat_id.as_deref(), Some("chatcmpl-1"));
        assert_eq!(tap.response_model.as_deref(), Some("m-1"));
        // The model after the choices, and an escaped id: decoded.
        let tap = settled(
            "data: {\"id\":\"chat\\u002d2\",\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"model\":\"m-2\"}\n\n",
        );
        assert_eq!(tap.chat_id.as_deref(), Some("chat-2"));
        assert_eq!(tap.response_model.as_deref(), Some("m-2"));
        assert_eq!(tap.finish_reason, Some(StopReason::Stop));
    }

    #[test]
    fn output_text_is_bounded() {
        let mut t = OutputText::default();
        let piece = "x".repeat(1000);
        for _ in 0..1000 {
            t.push(&piece);
        }
        assert!(t.text.len() <= TEXT_LIMIT);
        assert_eq!(t.text.len() as u64 + t.overflow_chars, 1_000_000);
    }
}
