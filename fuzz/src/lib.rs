//! Helpers shared by the fuzz targets.
//!
//! Input layout of the chunked targets (`sse`, `stream_*`):
//!
//! ```text
//! byte 0        k = byte & 0x0f: how many chunk-length bytes follow
//! bytes 1..=k   chunk lengths (0 = an empty push), used cyclically
//! the rest      the stream bytes
//! ```
//!
//! With `k == 0` the stream is pushed in one piece. Seeds are fixture files
//! with such a header in front (see `fuzz/README.md`).

use switchyard_protocol::canonical::{ChatRequest, ChatResponse, StreamError, StreamEvent};
use switchyard_protocol::dialect::{StreamDecode, StreamEncode};
use switchyard_protocol::{anthropic, bedrock, gemini, openai, responses};

/// Split `input` into (chunk lengths, stream bytes).
pub fn split_header(input: &[u8]) -> (&[u8], &[u8]) {
    let Some((&first, rest)) = input.split_first() else {
        return (&[], &[]);
    };
    let k = usize::from(first & 0x0f).min(rest.len());
    rest.split_at(k)
}

/// Cut `data` into pieces by cycling through `lens`.
pub fn chunks<'a>(lens: &[u8], data: &'a [u8]) -> Vec<&'a [u8]> {
    if lens.is_empty() {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let mut progressed = false;
        for &l in lens {
            let n = usize::from(l).min(rest.len());
            let (head, tail) = rest.split_at(n);
            out.push(head);
            rest = tail;
            progressed |= n > 0;
            if rest.is_empty() {
                return out;
            }
        }
        if !progressed {
            // Every length is 0: push the rest at once.
            out.push(rest);
            return out;
        }
    }
}

/// Feed `pieces` to a fresh decoder, then finish it. Returns the events and
/// whether every call succeeded (decoding stops at the first error, as the
/// gateway does).
pub fn decode_pieces<D: StreamDecode>(mut dec: D, pieces: &[&[u8]]) -> (Vec<StreamEvent>, bool) {
    let mut out = Vec::new();
    for p in pieces {
        if dec.push(p, &mut out).is_err() {
            return (out, false);
        }
    }
    let ok = dec.finish(&mut out).is_ok();
    (out, ok)
}

/// Every client stream encoder over `events`; none may panic.
pub fn encode_stream_all(events: &[StreamEvent]) {
    fn run<E: StreamEncode>(mut enc: E, events: &[StreamEvent]) {
        let mut out = Vec::new();
        for ev in events {
            enc.encode(ev, &mut out);
        }
        enc.finish(&mut out);
    }
    run(openai::StreamEncoder::new(true), events);
    run(anthropic::StreamEncoder::new(), events);
    run(gemini::StreamEncoder::new(), events);
    run(bedrock::StreamEncoder::new(), events);
    check_responses_stream(events);
}

/// The Responses encoder over `events`: every event numbered in order, and
/// every output item opened before its other events and closed once.
pub fn check_responses_stream(events: &[StreamEvent]) {
    let mut enc = responses::StreamEncoder::new(responses::Echo::default());
    let mut out = Vec::new();
    for ev in events {
        enc.encode(ev, &mut out);
    }
    enc.finish(&mut out);
    let text = String::from_utf8(out).expect("UTF-8 events");
    let mut open: Vec<u64> = Vec::new();
    let mut closed: Vec<u64> = Vec::new();
    for (seq, ev) in text.split("\n\n").filter(|e| !e.is_empty()).enumerate() {
        let data = ev
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("a data line");
        let v: serde_json::Value = serde_json::from_str(data).expect("JSON event");
        assert_eq!(v["sequence_number"], seq as u64);
        let ty = v["type"].as_str().expect("a type");
        if let Some(i) = v.get("output_index").and_then(serde_json::Value::as_u64) {
            match ty {
                "response.output_item.added" => {
                    assert!(!open.contains(&i) && !closed.contains(&i), "item {i} added twice");
                    open.push(i);
                }
                "response.output_item.done" => {
                    assert!(open.contains(&i), "item {i} done but not open");
                    open.retain(|o| *o != i);
                    closed.push(i);
                }
                _ => assert!(open.contains(&i), "{ty} on item {i} not open"),
            }
        }
    }
    assert!(open.is_empty(), "items left open: {open:?}");
}

/// The whole stream-target check: decode in the fuzzer's chunks and in one
/// piece, compare (when both succeed), and re-encode in every dialect.
pub fn check_stream<D: StreamDecode>(new: fn() -> D, input: &[u8]) {
    let (lens, data) = split_header(input);
    let pieces = chunks(lens, data);
    let (split_events, split_ok) = decode_pieces(new(), &pieces);
    let (whole_events, whole_ok) = decode_pieces(new(), &[data]);
    if split_ok && whole_ok {
        assert_eq!(
            split_events, whole_events,
            "events differ between chunked ({} pieces) and whole input",
            pieces.len()
        );
    }
    encode_stream_all(&split_events);
    if split_events != whole_events {
        encode_stream_all(&whole_events);
    }
}

/// A decoded request must encode for every provider dialect without panic
/// (a `ConvertError` is fine).
pub fn encode_request_all(req: &ChatRequest) {
    let _ = openai::encode_request(req);
    let _ = anthropic::encode_request(req);
    let _ = gemini::encode_request(req);
    let _ = bedrock::encode_request(req);
}

/// A decoded response must encode in every dialect without panic.
pub fn encode_response_all(resp: &ChatResponse) {
    let _ = openai::encode_response(resp);
    let _ = anthropic::encode_response(resp);
    let _ = gemini::encode_response(resp);
    let _ = bedrock::encode_response(resp);
    let _ = responses::encode_response(resp, &responses::Echo::default());
}

/// A decoded error body must encode in every dialect that has errors bodies.
pub fn encode_error_all(status: u16, err: &StreamError) {
    let _ = openai::encode_error(status, err);
    let _ = anthropic::encode_error(status, err);
    let _ = gemini::encode_error(status, err);
}

/// Statuses the `*_decode` targets try `decode_error` with.
pub const STATUSES: [u16; 7] = [0, 400, 401, 429, 500, 529, u16::MAX];

/// `decode_response` + `decode_error` of one dialect, with re-encoding.
pub fn check_response_and_error(
    body: &[u8],
    decode_response: fn(&[u8]) -> Result<ChatResponse, switchyard_protocol::canonical::ConvertError>,
    decode_error: fn(u16, &[u8]) -> StreamError,
) {
    if let Ok(resp) = decode_response(body) {
        encode_response_all(&resp);
    }
    for status in STATUSES {
        let err = decode_error(status, body);
        encode_error_all(status, &err);
        // Errors also travel inside streams.
        encode_stream_all(&[StreamEvent::Error { error: err }]);
    }
}
