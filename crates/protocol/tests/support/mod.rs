//! Shared machinery of the conformance suite: dialect dispatch, the golden
//! file mechanism, stream chunking and the normalisation used by the
//! structural checks.

pub mod fixtures;

use std::path::{Path, PathBuf};

use serde_json::Value;
use switchyard_protocol::canonical::{
    ChatRequest, ChatResponse, ConvertError, StreamCollector, StreamError, StreamEvent,
};
use switchyard_protocol::dialect::{StreamDecode, StreamEncode};
use switchyard_protocol::{anthropic, bedrock, gemini, openai};

// ---------------------------------------------------------------------------
// Dialects

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
    Bedrock,
}

pub use Dialect::{Anthropic, Bedrock, Gemini, OpenAi};

/// The dialects clients speak to the gateway.
pub const INGRESS: [Dialect; 3] = [OpenAi, Anthropic, Gemini];
/// The dialects providers speak.
pub const PROVIDERS: [Dialect; 4] = [OpenAi, Anthropic, Gemini, Bedrock];

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            OpenAi => "openai",
            Anthropic => "anthropic",
            Gemini => "gemini",
            Bedrock => "bedrock",
        }
    }
}

/// A client's request body to canonical. Gemini clients put the model and
/// the streaming flag in the URL; the others in the body.
pub fn decode_client_request(
    ingress: Dialect,
    body: &[u8],
    stream: bool,
) -> Result<ChatRequest, ConvertError> {
    match ingress {
        OpenAi => openai::decode_request(body),
        Anthropic => anthropic::decode_request(body),
        Gemini => gemini::decode_request(fixtures::GEMINI_PATH_MODEL, stream, body),
        Bedrock => bedrock::decode_request(body),
    }
}

pub fn encode_provider_request(
    provider: Dialect,
    req: &ChatRequest,
) -> Result<Vec<u8>, ConvertError> {
    match provider {
        OpenAi => openai::encode_request(req),
        Anthropic => anthropic::encode_request(req),
        Gemini => gemini::encode_request(req),
        Bedrock => bedrock::encode_request(req),
    }
}

/// A provider body read back (every dialect module has `decode_request`).
/// `model`/`stream` stand for the URL of Gemini (and are ignored otherwise).
pub fn decode_provider_request(
    provider: Dialect,
    body: &[u8],
    model: &str,
    stream: bool,
) -> Result<ChatRequest, ConvertError> {
    match provider {
        OpenAi => openai::decode_request(body),
        Anthropic => anthropic::decode_request(body),
        Gemini => gemini::decode_request(model, stream, body),
        Bedrock => bedrock::decode_request(body),
    }
}

pub fn decode_provider_response(
    provider: Dialect,
    body: &[u8],
) -> Result<ChatResponse, ConvertError> {
    match provider {
        OpenAi => openai::decode_response(body),
        Anthropic => anthropic::decode_response(body),
        Gemini => gemini::decode_response(body),
        Bedrock => bedrock::decode_response(body),
    }
}

pub fn encode_client_response(ingress: Dialect, resp: &ChatResponse) -> Vec<u8> {
    match ingress {
        OpenAi => openai::encode_response(resp),
        Anthropic => anthropic::encode_response(resp),
        Gemini => gemini::encode_response(resp),
        Bedrock => bedrock::encode_response(resp),
    }
}

pub fn decode_error(provider: Dialect, status: u16, body: &[u8]) -> StreamError {
    match provider {
        OpenAi => openai::decode_error(status, body),
        Anthropic => anthropic::decode_error(status, body),
        Gemini => gemini::decode_error(status, body),
        Bedrock => bedrock::decode_error(status, body),
    }
}

/// Bedrock has no `encode_error` (no client speaks it).
pub fn encode_client_error(ingress: Dialect, status: u16, err: &StreamError) -> Vec<u8> {
    match ingress {
        OpenAi => openai::encode_error(status, err),
        Anthropic => anthropic::encode_error(status, err),
        Gemini => gemini::encode_error(status, err),
        Bedrock => unreachable!("Bedrock is never an ingress dialect"),
    }
}

pub fn stream_decoder(d: Dialect) -> Box<dyn StreamDecode> {
    match d {
        OpenAi => Box::new(openai::StreamDecoder::new()),
        Anthropic => Box::new(anthropic::StreamDecoder::new()),
        Gemini => Box::new(gemini::StreamDecoder::new()),
        Bedrock => Box::new(bedrock::StreamDecoder::new()),
    }
}

/// OpenAI clients are taken to have asked for `include_usage`.
pub fn stream_encoder(d: Dialect) -> Box<dyn StreamEncode> {
    match d {
        OpenAi => Box::new(openai::StreamEncoder::new(true)),
        Anthropic => Box::new(anthropic::StreamEncoder::new()),
        Gemini => Box::new(gemini::StreamEncoder::new()),
        Bedrock => Box::new(bedrock::StreamEncoder::new()),
    }
}

// ---------------------------------------------------------------------------
// Golden files

pub fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn updating() -> bool {
    std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

/// Compare `actual` with the golden file `rel` (under `tests/golden`).
///
/// With `UPDATE_GOLDEN=1` the file is (re)written instead. On a mismatch
/// the actual text is written next to the golden as `<file>.new` and the
/// test fails showing both.
pub fn assert_golden(rel: &str, actual: &str) {
    let path = golden_root().join(rel);
    let new_path = PathBuf::from(format!("{}.new", path.display()));
    if updating() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create golden dir");
        }
        std::fs::write(&path, actual).expect("write golden");
        let _ = std::fs::remove_file(&new_path);
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::write(&new_path, actual);
            panic!(
                "golden {} cannot be read ({e}); the actual output is in {}.\n\
                 Run with UPDATE_GOLDEN=1 to create it, then review it.",
                path.display(),
                new_path.display()
            );
        }
    };
    if expected == actual {
        let _ = std::fs::remove_file(&new_path);
        return;
    }
    let _ = std::fs::write(&new_path, actual);
    let first = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    panic!(
        "golden mismatch: {}\nfirst difference at line {}:\n  golden: {:?}\n  actual: {:?}\n\
         ----- golden -----\n{expected}\n----- actual (also in {}) -----\n{actual}\n\
         Run with UPDATE_GOLDEN=1 to accept the new output, then review it.",
        path.display(),
        first + 1,
        expected.lines().nth(first).unwrap_or("<end>"),
        actual.lines().nth(first).unwrap_or("<end>"),
        new_path.display(),
    );
}

/// Re-indent JSON text (two spaces, `": "`) keeping its key order, so that
/// a golden shows exactly what went on the wire. Panics on invalid JSON.
pub fn pretty_json(text: &[u8]) -> String {
    serde_json::from_slice::<serde::de::IgnoredAny>(text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(text)));
    let text = std::str::from_utf8(text).expect("JSON is UTF-8");
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|n| n.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// A value serialised compactly, for embedding in a composite golden that
/// is then re-indented with [`pretty_json`].
pub fn raw(bytes: &[u8]) -> Box<serde_json::value::RawValue> {
    let s = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    serde_json::value::RawValue::from_string(s).expect("valid JSON")
}

// ---------------------------------------------------------------------------
// Streams

/// How a byte stream is cut into reads.
#[derive(Clone, Copy, Debug)]
pub enum Chunking {
    Whole,
    Bytewise,
    /// Pseudo-random cuts from a seeded generator.
    Random(u64),
}

pub const CHUNKINGS: [Chunking; 3] = [
    Chunking::Whole,
    Chunking::Bytewise,
    Chunking::Random(0x5717_c4ab),
];

fn pieces(len: usize, how: Chunking) -> Vec<usize> {
    match how {
        Chunking::Whole => vec![len],
        Chunking::Bytewise => vec![1; len],
        Chunking::Random(seed) => {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut out = vec![];
            let mut left = len;
            while left > 0 {
                let n = rng.usize(1..=left.min(97));
                out.push(n);
                left -= n;
            }
            out
        }
    }
}

/// Feed `bytes` to a fresh decoder of `d`, cut as `how` says.
pub fn decode_stream(d: Dialect, bytes: &[u8], how: Chunking) -> Vec<StreamEvent> {
    let mut dec = stream_decoder(d);
    let mut out = vec![];
    let mut at = 0;
    for n in pieces(bytes.len(), how) {
        dec.push(&bytes[at..at + n], &mut out)
            .unwrap_or_else(|e| panic!("{} decoder, {how:?}: {e}", d.name()));
        at += n;
    }
    dec.finish(&mut out)
        .unwrap_or_else(|e| panic!("{} decoder finish, {how:?}: {e}", d.name()));
    out
}

/// Decode in every chunking, require identical events, return them.
pub fn decode_stream_all_chunkings(d: Dialect, bytes: &[u8]) -> Vec<StreamEvent> {
    let whole = decode_stream(d, bytes, Chunking::Whole);
    for how in &CHUNKINGS[1..] {
        assert_eq!(
            decode_stream(d, bytes, *how),
            whole,
            "{} decoder gives different events when the stream is cut {how:?}",
            d.name()
        );
    }
    whole
}

pub fn encode_stream(d: Dialect, events: &[StreamEvent]) -> Vec<u8> {
    let mut enc = stream_encoder(d);
    let mut out = vec![];
    for ev in events {
        enc.encode(ev, &mut out);
    }
    enc.finish(&mut out);
    out
}

pub fn collect(events: &[StreamEvent]) -> ChatResponse {
    let mut c = StreamCollector::default();
    for e in events {
        c.push(e);
    }
    assert_eq!(c.error, None, "unexpected stream error");
    c.finish()
}

// ---------------------------------------------------------------------------
// JSON helpers for the structural checks

/// JSON text parsed (so that key order and whitespace do not matter), or
/// the text itself as a string when it is not JSON.
pub fn json_or_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}
