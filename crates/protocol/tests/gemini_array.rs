//! Gemini's streamed JSON array (`:streamGenerateContent` without
//! `alt=sse`): the encoder's array mode writes `[`, each chunk as an
//! element as soon as it is ready, and `]` at the end, after an error too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use switchyard_protocol::canonical::{StopReason, StreamEvent, TokenUsage};
use switchyard_protocol::dialect::{StreamEncode, stream_error};
use switchyard_protocol::gemini::StreamEncoder;

fn start() -> StreamEvent {
    StreamEvent::Start {
        id: "r1".into(),
        model: "gemini-2.5-flash".into(),
        created: 1_700_000_000,
        usage: TokenUsage::default(),
    }
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta { text: t.into() }
}

#[test]
fn chunks_are_array_elements_written_as_they_come() {
    let mut enc = StreamEncoder::json_array();
    let mut out = Vec::new();
    enc.encode(&start(), &mut out);
    assert!(out.is_empty(), "nothing to write yet");
    enc.encode(&text("Hel"), &mut out);
    assert!(out.starts_with(b"[{"), "{}", String::from_utf8_lossy(&out));
    let first = out.len();
    // Each element stands alone: what was written is a valid array once
    // closed, at every step.
    let mut closed = out.clone();
    closed.extend_from_slice(b"]");
    assert_eq!(
        serde_json::from_slice::<Value>(&closed)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    enc.encode(&text("lo"), &mut out);
    assert!(out[first..].starts_with(b"\n,{"));
    enc.encode(
        &StreamEvent::Finish {
            reason: StopReason::Stop,
        },
        &mut out,
    );
    enc.encode(
        &StreamEvent::Usage {
            usage: TokenUsage {
                input_tokens: 3,
                output_tokens: 2,
                ..TokenUsage::default()
            },
        },
        &mut out,
    );
    enc.finish(&mut out);
    assert!(out.ends_with(b"\n]"), "{}", String::from_utf8_lossy(&out));
    let v: Value = serde_json::from_slice(&out).unwrap();
    let chunks = v.as_array().unwrap();
    assert_eq!(chunks.len(), 3, "{v}");
    let said: String = chunks
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(said, "Hello");
    assert_eq!(chunks[2]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(chunks[2]["usageMetadata"]["totalTokenCount"], 5);
    assert_eq!(chunks[0]["responseId"], "r1");
    // finish again: nothing more.
    let n = out.len();
    enc.finish(&mut out);
    assert_eq!(out.len(), n);
}

#[test]
fn an_error_is_an_element_and_the_array_still_closes() {
    let mut enc = StreamEncoder::json_array();
    let mut out = Vec::new();
    enc.encode(&start(), &mut out);
    enc.encode(&text("partial"), &mut out);
    enc.encode(
        &StreamEvent::Error {
            error: stream_error(Some(502), "the provider went away"),
        },
        &mut out,
    );
    enc.finish(&mut out);
    let v: Value = serde_json::from_slice(&out).unwrap();
    let chunks = v.as_array().unwrap();
    assert_eq!(chunks.len(), 2, "{v}");
    assert_eq!(chunks[1]["error"]["code"], 502);
    assert!(
        chunks[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("went away")
    );
}

#[test]
fn an_empty_stream_is_an_empty_array_and_sse_is_unchanged() {
    let mut enc = StreamEncoder::json_array();
    let mut out = Vec::new();
    enc.finish(&mut out);
    assert_eq!(out, b"[]");

    let mut sse = StreamEncoder::new();
    let mut out = Vec::new();
    sse.encode(&start(), &mut out);
    sse.encode(&text("hi"), &mut out);
    sse.finish(&mut out);
    let s = String::from_utf8(out).unwrap();
    assert!(s.starts_with("data: {"), "{s}");
}
