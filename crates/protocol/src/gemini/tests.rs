//! Tests on the recorded Gemini and Vertex fixtures, plus unit tests of the
//! mappings.

use serde_json::{Value, json};

use super::wire::{format_rfc3339, from_gemini_schema, parse_rfc3339, to_gemini_schema};
use super::*;
use crate::canonical::{
    ChatRequest, ChatResponse, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    StopReason, StreamCollector, StreamError, StreamEvent, TokenUsage, Tool, ToolChoice,
};
use crate::dialect::{StreamDecode, StreamEncode};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

struct Case {
    name: String,
    dir: std::path::PathBuf,
}

impl Case {
    fn read(&self, file: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(file)).ok()
    }

    fn json(&self, file: &str) -> Option<Value> {
        self.read(file)
            .map(|b| serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{}: {e}", self.name)))
    }

    /// The request path (with query), if recorded.
    fn path(&self) -> String {
        self.json("request.meta.json")
            .and_then(|m| m.get("path").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    }

    fn status(&self) -> u16 {
        self.json("response.meta.json")
            .and_then(|m| m.get("status").and_then(Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200)
    }

    /// A `generateContent` / `streamGenerateContent` call.
    fn is_generate(&self) -> bool {
        let p = self.path();
        p.contains(":generateContent") || p.contains(":streamGenerateContent")
    }

    /// The model named in the URL path.
    fn model(&self) -> String {
        let p = self.path();
        let after = p.rsplit_once("models/").map(|(_, m)| m).unwrap_or("gemini");
        after.split(':').next().unwrap_or(after).to_string()
    }
}

fn cases() -> Vec<Case> {
    let mut out = vec![];
    for dialect in ["gemini", "vertex"] {
        let dir = format!("{ROOT}/{dialect}");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for e in entries.flatten() {
            out.push(Case {
                name: format!("{dialect}/{}", e.file_name().to_string_lossy()),
                dir: e.path(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 20, "fixtures found: {}", out.len());
    out
}

fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn request_of(c: &Case) -> ChatRequest {
    let body = c.read("request.json").unwrap();
    let stream = c.path().contains("streamGenerateContent");
    decode_request(&c.model(), stream, &body).unwrap_or_else(|e| panic!("{}: {e}", c.name))
}

fn decode_stream_in(pieces: &[&[u8]]) -> Vec<StreamEvent> {
    let mut d = StreamDecoder::new();
    let mut out = vec![];
    for p in pieces {
        d.push(p, &mut out).unwrap();
    }
    d.finish(&mut out).unwrap();
    out
}

fn decode_stream(bytes: &[u8]) -> Vec<StreamEvent> {
    decode_stream_in(&[bytes])
}

fn collect(events: &[StreamEvent]) -> ChatResponse {
    let mut c = StreamCollector::default();
    for e in events {
        c.push(e);
    }
    assert_eq!(c.error, None);
    c.finish()
}

fn encode_stream(events: &[StreamEvent]) -> Vec<u8> {
    let mut enc = StreamEncoder::new();
    let mut out = vec![];
    for e in events {
        enc.encode(e, &mut out);
    }
    enc.finish(&mut out);
    out
}

fn sse(chunks: &[Value]) -> Vec<u8> {
    let mut out = vec![];
    for c in chunks {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(c.to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
    }
    out
}

/// What decode -> encode -> decode is expected to give: the same, except
/// tool and response schemas, which lose the keys Gemini rejects.
fn schema_normalized(mut req: ChatRequest) -> ChatRequest {
    for t in &mut req.tools {
        let mut p = to_gemini_schema(&t.parameters);
        if let Value::Object(m) = &mut p {
            m.entry("type").or_insert_with(|| "OBJECT".into());
        }
        t.parameters = from_gemini_schema(&p);
    }
    if let Some(ResponseFormat::JsonSchema { schema, .. }) = &mut req.response_format {
        *schema = from_gemini_schema(&to_gemini_schema(schema));
    }
    req
}

// ---------------------------------------------------------------------------
// 1. Every fixture decodes.

#[test]
fn every_fixture_request_decodes() {
    let mut decoded = 0;
    for c in cases() {
        let Some(body) = c.read("request.json") else {
            continue;
        };
        let p = c.path();
        if c.is_generate() || p.contains(":countTokens") {
            // countTokens takes the same `contents` body.
            let req = request_of(&c);
            assert!(!req.messages.is_empty(), "{}", c.name);
            assert_eq!(req.model, c.model());
            decoded += 1;
        } else {
            // batchEmbedContents: not a generateContent body, a clear error.
            let e = decode_request("m", false, &body).unwrap_err();
            assert!(e.message.contains("contents"), "{}: {e}", c.name);
        }
    }
    assert!(decoded >= 15, "decoded {decoded}");
}

#[test]
fn every_fixture_response_decodes() {
    let mut responses = 0;
    let mut errors = 0;
    for c in cases() {
        let status = c.status();
        if status >= 400 {
            let body = c.read("response.json").unwrap_or_default();
            let err = decode_error(status, &body);
            assert_eq!(err.status, Some(status), "{}", c.name);
            assert!(!err.message.is_empty(), "{}", c.name);
            errors += 1;
            continue;
        }
        let Some(body) = c.read("response.json") else {
            continue;
        };
        if !c.is_generate() {
            // countTokens, batchEmbedContents and the OpenAI-compatible
            // endpoint stub are other response shapes.
            continue;
        }
        decode_response(&body).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        responses += 1;
    }
    assert!(responses >= 8, "responses {responses}");
    assert!(errors >= 3, "errors {errors}");
}

#[test]
fn every_fixture_stream_decodes() {
    let mut streams = 0;
    for c in cases() {
        let Some(body) = c.read("response.sse") else {
            continue;
        };
        let events = decode_stream(&body);
        assert!(
            matches!(events.first(), Some(StreamEvent::Start { .. })),
            "{}",
            c.name
        );
        let finishes = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Finish { .. }))
            .count();
        assert_eq!(finishes, 1, "{}", c.name);
        assert!(
            matches!(events.last(), Some(StreamEvent::Usage { .. })),
            "{}: {events:?}",
            c.name
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, StreamEvent::Error { .. })),
            "{}",
            c.name
        );
        streams += 1;
    }
    assert_eq!(streams, 5);
}

// ---------------------------------------------------------------------------
// 2. Splitting the input never changes the events.

#[test]
fn streams_split_anywhere_give_the_same_events() {
    let mut rng = fastrand::Rng::with_seed(0x6e6d_696e_6921);
    for c in cases() {
        let Some(body) = c.read("response.sse") else {
            continue;
        };
        let whole = decode_stream(&body);
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode_stream_in(&bytes), whole, "{}: 1-byte pieces", c.name);
        for round in 0..50 {
            // Piece sizes up to a random bound: from many tiny pieces to a
            // few large ones.
            let max = rng.usize(1..=body.len());
            let mut pieces: Vec<&[u8]> = vec![];
            let mut rest: &[u8] = &body;
            while !rest.is_empty() {
                let n = rng.usize(1..=rest.len().min(max));
                let (a, b) = rest.split_at(n);
                pieces.push(a);
                rest = b;
            }
            assert_eq!(
                decode_stream_in(&pieces),
                whole,
                "{}: random split {round}",
                c.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Round trips.

#[test]
fn fixture_requests_round_trip() {
    for c in cases() {
        if c.read("request.json").is_none()
            || !(c.is_generate() || c.path().contains(":countTokens"))
        {
            continue;
        }
        let req = request_of(&c);
        if schema_normalized(req.clone()) != req {
            // The only fixture with keys Gemini's `parameters` rejects
            // (`additionalProperties`, sent as `parameters_json_schema`).
            assert_eq!(c.name, "gemini/stream-tools-thought-signature");
        }
        let body = encode_request(&req).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let again = decode_request(&req.model, req.stream, &body).unwrap();
        assert_eq!(again, schema_normalized(req.clone()), "{}", c.name);
        // Once normalised, the body is a fixed point.
        let body2 = encode_request(&again).unwrap();
        assert_eq!(body2, body, "{}", c.name);
    }
}

#[test]
fn fixture_responses_round_trip() {
    for c in cases() {
        let Some(body) = c.read("response.json") else {
            continue;
        };
        if c.status() >= 400 || !c.is_generate() {
            continue;
        }
        let resp = decode_response(&body).unwrap();
        let again = decode_response(&encode_response(&resp)).unwrap();
        assert_eq!(again, resp, "{}", c.name);
    }
}

#[test]
fn fixture_streams_round_trip_through_the_encoder() {
    for c in cases() {
        let Some(body) = c.read("response.sse") else {
            continue;
        };
        let events = decode_stream(&body);
        let expected = collect(&events);
        let bytes = encode_stream(&events);
        let again = decode_stream(&bytes);
        assert_eq!(collect(&again), expected, "{}", c.name);
    }
}

#[test]
fn fixture_errors_round_trip() {
    for c in cases() {
        let status = c.status();
        if status < 400 {
            continue;
        }
        let body = c.read("response.json").unwrap_or_default();
        let err = decode_error(status, &body);
        assert_eq!(
            decode_error(status, &encode_error(status, &err)),
            err,
            "{}",
            c.name
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Encoder output read back by the decoder.

fn rich_events() -> Vec<StreamEvent> {
    let usage0 = TokenUsage {
        input_tokens: 40,
        ..Default::default()
    };
    vec![
        StreamEvent::Start {
            id: "resp_1".into(),
            model: "gemini-2.5-pro".into(),
            created: 1_750_000_000,
            usage: usage0,
        },
        StreamEvent::ThinkingDelta {
            text: "Let me ".into(),
        },
        StreamEvent::ThinkingDelta {
            text: "think.".into(),
        },
        StreamEvent::ThinkingSignature {
            signature: "c2lnLTE=".into(),
        },
        StreamEvent::TextDelta {
            text: "Checking ".into(),
        },
        StreamEvent::TextDelta {
            text: "both cities.".into(),
        },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_a".into(),
            name: "weather".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\":".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "\"Paris\"}".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_b".into(),
            name: "weather".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{\"city\":\"Rome\",\"units\":\"c\"}".into(),
        },
        StreamEvent::Finish {
            reason: StopReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: TokenUsage {
                input_tokens: 40,
                output_tokens: 90,
                cached_tokens: 8,
                cache_creation_tokens: 0,
                reasoning_tokens: 60,
            },
        },
    ]
}

#[test]
fn encoder_output_decodes_to_the_same_answer() {
    let events = rich_events();
    let expected = collect(&events);
    assert_eq!(expected.content.len(), 4);
    let bytes = encode_stream(&events);
    assert!(bytes.ends_with(b"}\r\n\r\n"));
    assert!(!bytes.windows(6).any(|w| w == b"[DONE]"));
    let decoded = decode_stream(&bytes);
    assert_eq!(collect(&decoded), expected);
    // Each call arrives whole.
    let deltas = decoded
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallDelta { .. }))
        .count();
    assert_eq!(deltas, 2);
    // Also when read back in small pieces.
    let pieces: Vec<&[u8]> = bytes.chunks(7).collect();
    assert_eq!(collect(&decode_stream_in(&pieces)), expected);
}

#[test]
fn encoder_writes_one_chunk_per_delta_and_the_finish_with_the_usage() {
    let bytes = encode_stream(&rich_events());
    let text = String::from_utf8(bytes).unwrap();
    let chunks: Vec<Value> = text
        .split("\r\n\r\n")
        .filter(|c| !c.is_empty())
        .map(|c| serde_json::from_str(c.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    // 2 thinking + 2 text + 2 calls + final.
    assert_eq!(chunks.len(), 7, "{text}");
    let part = |i: usize| chunks[i]["candidates"][0]["content"]["parts"][0].clone();
    assert_eq!(part(0), json!({"text": "Let me ", "thought": true}));
    assert_eq!(
        part(2),
        json!({"text": "Checking ", "thoughtSignature": "c2lnLTE="})
    );
    assert_eq!(
        part(4),
        json!({"functionCall": {"id": "call_a", "name": "weather", "args": {"city": "Paris"}}})
    );
    let last = &chunks[6];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["usageMetadata"],
        json!({"promptTokenCount": 40, "candidatesTokenCount": 30, "thoughtsTokenCount": 60,
               "cachedContentTokenCount": 8, "totalTokenCount": 130})
    );
    assert_eq!(last["modelVersion"], "gemini-2.5-pro");
    assert_eq!(last["responseId"], "resp_1");
}

#[test]
fn stream_errors_both_ways() {
    let err = StreamError {
        status: Some(429),
        kind: "rate_limit_error".into(),
        message: "slow down".into(),
    };
    let mut enc = StreamEncoder::new();
    let mut out = vec![];
    enc.encode(
        &StreamEvent::Start {
            id: "r".into(),
            model: "m".into(),
            created: 0,
            usage: TokenUsage::default(),
        },
        &mut out,
    );
    enc.encode(&StreamEvent::TextDelta { text: "hi".into() }, &mut out);
    enc.encode(&StreamEvent::Error { error: err.clone() }, &mut out);
    enc.finish(&mut out);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.ends_with(
            "data: {\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":\"RESOURCE_EXHAUSTED\"}}\r\n\r\n"
        ),
        "{text}"
    );
    let events = decode_stream(&out);
    assert!(events.contains(&StreamEvent::Error { error: err }));
}

#[test]
fn stream_decoder_maps_tool_calls_and_signatures() {
    let c = case("gemini/stream-tools-thought-signature");
    let events = decode_stream(&c.read("response.sse").unwrap());
    let StreamEvent::Start {
        id, model, usage, ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(id, "QUVVadTSNJ6_qtsPvN7J8Q0");
    assert_eq!(model, "gemini-3-pro-preview");
    assert_eq!(usage.input_tokens, 29);
    assert_eq!(usage.output_tokens, 212);
    assert_eq!(usage.reasoning_tokens, 202);
    assert!(
        matches!(&events[1], StreamEvent::ThinkingSignature { signature } if signature.starts_with("EpwICpkI"))
    );
    assert_eq!(
        events[2],
        StreamEvent::ToolCallStart {
            index: 0,
            // Made up from the responseId.
            id: "call_9d646cd87190_0".into(),
            name: "get_country".into()
        }
    );
    assert_eq!(
        events[3],
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{}".into()
        }
    );
    assert_eq!(
        events[4],
        StreamEvent::Finish {
            reason: StopReason::ToolCalls
        }
    );
    let resp = collect(&events);
    assert!(
        matches!(&resp.content[..], [Part::Thinking { text, signature: Some(_) }, Part::ToolCall { .. }] if text.is_empty())
    );

    // Sent back in the next request, the signature sits on the call again.
    let req = ChatRequest {
        model: "gemini-3-pro-preview".into(),
        messages: vec![
            Message {
                role: Role::User,
                content: vec![Part::Text { text: "q".into() }],
            },
            Message {
                role: Role::Assistant,
                content: resp.content.clone(),
            },
            Message {
                role: Role::Tool,
                content: vec![Part::ToolResult {
                    tool_call_id: "call_9d646cd87190_0".into(),
                    name: None,
                    content: vec![Part::Text {
                        text: "France".into(),
                    }],
                    is_error: false,
                }],
            },
        ],
        ..Default::default()
    };
    let body: Value = serde_json::from_slice(&encode_request(&req).unwrap()).unwrap();
    let model_parts = &body["contents"][1]["parts"];
    assert_eq!(model_parts.as_array().unwrap().len(), 1);
    assert!(
        model_parts[0]["thoughtSignature"]
            .as_str()
            .unwrap()
            .starts_with("EpwICpkI")
    );
    assert_eq!(model_parts[0]["functionCall"]["name"], "get_country");
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [{"functionResponse": {
            "id": "call_9d646cd87190_0", "name": "get_country", "response": {"content": "France"}}}]})
    );
}

#[test]
fn stream_thinking_fixture_collects_signed_thinking_then_text() {
    let c = case("gemini/stream-thinking");
    let resp = collect(&decode_stream(&c.read("response.sse").unwrap()));
    match &resp.content[..] {
        [
            Part::Thinking {
                text,
                signature: Some(sig),
            },
            Part::Text { text: answer },
        ] => {
            assert!(text.starts_with("**Clarifying User Goals**"));
            assert!(sig.starts_with("CiIB"));
            assert!(answer.starts_with("This is a great question!"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(resp.stop_reason, StopReason::Stop);
    // Re-encoded for Gemini: thoughts unsigned, the signature on the text.
    let parts: Value = {
        let r = ChatResponse { ..resp.clone() };
        let v: Value = serde_json::from_slice(&encode_response(&r)).unwrap();
        v["candidates"][0]["content"]["parts"].clone()
    };
    assert_eq!(parts[0]["thought"], true);
    assert!(parts[0].get("thoughtSignature").is_none());
    assert!(
        parts[1]["thoughtSignature"]
            .as_str()
            .unwrap()
            .starts_with("CiIB")
    );
}

#[test]
fn stream_usage_counts_tool_use_prompt_and_thoughts() {
    let c = case("gemini/stream-web-search");
    let resp = collect(&decode_stream(&c.read("response.sse").unwrap()));
    let u = resp.usage;
    // Last chunk: prompt 17 + toolUsePrompt 102, candidates 241 + thoughts
    // 412 (total 772).
    assert_eq!(u.input_tokens, 17 + 102);
    assert_eq!(u.reasoning_tokens, 412);
    assert_eq!(u.output_tokens, 241 + 412);
    assert_eq!(u.input_tokens + u.output_tokens, 772);
}

#[test]
fn stream_decoder_emits_usage_only_on_change() {
    let chunk = |text: &str, usage: Value, finish: Option<&str>| {
        let mut cand = json!({"content": {"role": "model", "parts": [{"text": text}]}});
        if let Some(f) = finish {
            cand["finishReason"] = f.into();
        }
        json!({"candidates": [cand], "usageMetadata": usage, "responseId": "r"})
    };
    let u = json!({"promptTokenCount": 5});
    let events = decode_stream(&sse(&[
        chunk("a", u.clone(), None),
        chunk("b", u.clone(), None),
        chunk("c", u, Some("MAX_TOKENS")),
    ]));
    let usages: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Usage { .. }))
        .collect();
    assert_eq!(usages.len(), 1, "at least once, at the end");
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Usage {
            usage: TokenUsage {
                input_tokens: 5,
                ..Default::default()
            }
        })
    );
    assert!(events.contains(&StreamEvent::Finish {
        reason: StopReason::Length
    }));
}

#[test]
fn stream_blocked_prompt_is_a_content_filter_finish() {
    let events = decode_stream(&sse(&[json!({
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 7}
    })]));
    assert!(events.contains(&StreamEvent::Finish {
        reason: StopReason::ContentFilter
    }));
}

// ---------------------------------------------------------------------------
// Fixture content.

#[test]
fn basic_request_and_response() {
    let req = request_of(&case("gemini/generate-basic"));
    assert_eq!(req.model, "gemini-2.5-flash");
    assert_eq!(req.system, vec!["You are a chatbot.".to_string()]);
    assert_eq!(
        req.messages,
        vec![Message {
            role: Role::User,
            content: vec![Part::Text {
                text: "Hello!".into()
            }]
        }]
    );
    let resp =
        decode_response(&case("gemini/generate-basic").read("response.json").unwrap()).unwrap();
    assert_eq!(resp.id, "bzlXaa_EE_aHqtsPi_zw8Ao");
    assert_eq!(resp.model, "gemini-2.5-flash");
    assert_eq!(resp.created, 0);
    assert_eq!(
        resp.usage,
        TokenUsage {
            input_tokens: 9,
            output_tokens: 9 + 34,
            cached_tokens: 0,
            cache_creation_tokens: 0,
            reasoning_tokens: 34
        }
    );
    assert_eq!(resp.stop_reason, StopReason::Stop);

    let v = decode_response(&case("vertex/generate-basic").read("response.json").unwrap()).unwrap();
    assert_eq!(v.created, parse_rfc3339("2025-06-27T08:48:21Z").unwrap());
}

#[test]
fn tool_fixtures() {
    let req = request_of(&case("gemini/generate-tools"));
    assert_eq!(req.tool_choice, Some(ToolChoice::Required));
    assert_eq!(req.tools.len(), 2);
    assert_eq!(req.tools[0].description, None);
    assert_eq!(
        req.tools[1].parameters,
        json!({"properties": {"city": {"type": "string"}, "country": {"type": "string"}},
               "required": ["city", "country"], "type": "object"})
    );
    let resp =
        decode_response(&case("gemini/generate-tools").read("response.json").unwrap()).unwrap();
    assert_eq!(resp.stop_reason, StopReason::ToolCalls);
    assert_eq!(
        resp.content,
        vec![Part::ToolCall {
            id: "call_3ca3992fe606_0".into(),
            name: "get_user_country".into(),
            arguments: "{}".into()
        }]
    );

    let follow = request_of(&case("gemini/generate-tool-response-followup"));
    assert_eq!(follow.messages.len(), 3);
    assert_eq!(follow.messages[2].role, Role::Tool);
    assert_eq!(
        follow.messages[2].content,
        vec![Part::ToolResult {
            tool_call_id: "pyd_ai_3fa5644dae1d4aad997ae39c70006fbd".into(),
            name: Some("get_user_country".into()),
            content: vec![Part::Text {
                text: "{\"return_value\":\"Mexico\"}".into()
            }],
            is_error: false
        }]
    );
    let resp = decode_response(
        &case("gemini/generate-tool-response-followup")
            .read("response.json")
            .unwrap(),
    )
    .unwrap();
    assert!(
        matches!(&resp.content[..], [Part::ToolCall { arguments, .. }]
        if serde_json::from_str::<Value>(arguments).unwrap() == json!({"city": "Mexico City", "country": "Mexico"}))
    );

    // parameters_json_schema (snake_case) is read as JSON Schema.
    let req = request_of(&case("gemini/stream-tools-thought-signature"));
    assert_eq!(
        req.tools[0].parameters,
        json!({"additionalProperties": false, "properties": {}, "type": "object"})
    );
    // Native tools have no canonical form.
    assert!(
        request_of(&case("gemini/stream-web-search"))
            .tools
            .is_empty()
    );
}

#[test]
fn other_fixture_content() {
    let think = request_of(&case("gemini/generate-thinking"));
    assert_eq!(think.reasoning, None, "includeThoughts: false alone");
    let think = request_of(&case("gemini/stream-thinking"));
    assert_eq!(think.reasoning, Some(Reasoning::default()));
    assert!(think.stream);

    let video = request_of(&case("gemini/generate-youtube-video"));
    assert_eq!(
        video.messages[0].content[1],
        Part::Image {
            source: ImageSource::Url {
                url: "https://youtu.be/lCdaVNyHtjU".into()
            }
        }
    );
    let body: Value = serde_json::from_slice(&encode_request(&video).unwrap()).unwrap();
    assert_eq!(
        body["contents"][0]["parts"][1],
        json!({"fileData": {"fileUri": "https://youtu.be/lCdaVNyHtjU", "mimeType": "video/mp4"}})
    );

    let armor = decode_response(
        &case("vertex/generate-model-armor-blocked")
            .read("response.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(armor.stop_reason, StopReason::ContentFilter);
    assert!(armor.content.is_empty());

    let temp = request_of(&case("gemini/stream-basic"));
    assert_eq!(temp.temperature, Some(0.0));

    let flex = collect(&decode_stream(
        &case("vertex/stream-service-tier-flex")
            .read("response.sse")
            .unwrap(),
    ));
    assert!(
        matches!(&flex.content[..], [Part::Thinking { text, signature: Some(_) }, Part::Text { text: ok }] if text.is_empty() && ok == "OK")
    );
    assert_eq!(flex.created, parse_rfc3339("2026-03-21T18:11:55Z").unwrap());
}

#[test]
fn fixture_errors() {
    let e = decode_error(
        404,
        &case("gemini/error-404-model-not-found")
            .read("response.json")
            .unwrap(),
    );
    assert_eq!(e.kind, "invalid_request_error");
    assert!(
        e.message
            .starts_with("models/gemini-3.6-flahs is not found")
    );
    let e = decode_error(
        429,
        &case("gemini/error-429-retry-info")
            .read("response.json")
            .unwrap(),
    );
    assert_eq!(e.kind, "rate_limit_error");
    assert_eq!(
        e.message,
        "You exceeded your current quota, please check your plan."
    );
    let e = decode_error(500, b"");
    assert_eq!(
        (e.kind.as_str(), e.message.as_str()),
        ("api_error", "HTTP 500")
    );
    let e = decode_error(503, b"<html>oops</html>");
    assert_eq!(e.message, "<html>oops</html>");
    let e = decode_error(
        503,
        br#"[{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}]"#,
    );
    assert_eq!(e.kind, "overloaded_error");
    assert_eq!(e.message, "The model is overloaded.");
    let body: Value = serde_json::from_slice(&encode_error(529, &e)).unwrap();
    assert_eq!(
        body,
        json!({"error": {"code": 529, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
    );
}

// ---------------------------------------------------------------------------
// Encoding canonical requests from other dialects.

fn call(id: &str, name: &str, args: &str) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: args.into(),
    }
}

fn result(id: &str, text: &str) -> Part {
    Part::ToolResult {
        tool_call_id: id.into(),
        name: None,
        content: vec![Part::Text { text: text.into() }],
        is_error: false,
    }
}

fn msg(role: Role, content: Vec<Part>) -> Message {
    Message { role, content }
}

#[test]
fn tool_results_find_their_names_and_merge_into_one_user_turn() {
    let req = ChatRequest {
        model: "gemini-2.5-flash".into(),
        messages: vec![
            msg(Role::User, vec![Part::Text { text: "hi".into() }]),
            msg(
                Role::Assistant,
                vec![
                    call("toolu_1", "weather", r#"{"city": "Paris"}"#),
                    call("toolu_2", "time", ""),
                ],
            ),
            msg(Role::Tool, vec![result("toolu_1", r#"{"temp": 21}"#)]),
            msg(Role::Tool, vec![result("toolu_2", "12:00")]),
            msg(
                Role::User,
                vec![Part::Text {
                    text: "thanks".into(),
                }],
            ),
        ],
        ..Default::default()
    };
    let body: Value = serde_json::from_slice(&encode_request(&req).unwrap()).unwrap();
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [
                {"functionCall": {"id": "toolu_1", "name": "weather", "args": {"city": "Paris"}}},
                {"functionCall": {"id": "toolu_2", "name": "time", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "toolu_1", "name": "weather", "response": {"temp": 21}}},
                {"functionResponse": {"id": "toolu_2", "name": "time", "response": {"content": "12:00"}}},
                {"text": "thanks"}]}
        ])
    );
    // And back: the user turn splits into tool results and a user message.
    let back = decode_request("m", false, &serde_json::to_vec(&body).unwrap()).unwrap();
    let roles: Vec<Role> = back.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::User]);
    assert_eq!(back.messages[2].content.len(), 2);
}

#[test]
fn a_tool_result_without_a_name_or_call_is_an_error() {
    let req = ChatRequest {
        messages: vec![msg(Role::Tool, vec![result("nope", "x")])],
        ..Default::default()
    };
    let e = encode_request(&req).unwrap_err();
    assert_eq!(e.path, "messages[0].content[0]");
    assert!(e.message.contains("no function name"), "{e}");
}

#[test]
fn bad_tool_arguments_are_an_error_in_requests() {
    let req = ChatRequest {
        messages: vec![msg(Role::Assistant, vec![call("c", "f", "{not json")])],
        ..Default::default()
    };
    assert_eq!(
        encode_request(&req).unwrap_err().path,
        "messages[0].content[0]"
    );
    let req = ChatRequest {
        messages: vec![msg(Role::Assistant, vec![call("c", "f", "[1]")])],
        ..Default::default()
    };
    assert!(encode_request(&req).is_err());
}

#[test]
fn id_less_function_responses_pair_with_calls_by_name() {
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "a", "args": {}}},
            {"functionCall": {"name": "b", "args": {"x": 1}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "b", "response": {"error": "boom"}}},
            {"functionResponse": {"name": "a", "response": {"output": "ok"}}}]}
    ]});
    let req = decode_request("m", false, body.to_string().as_bytes()).unwrap();
    assert_eq!(
        req.messages[2].content,
        vec![
            Part::ToolResult {
                tool_call_id: "call_579364a9d00f_1".into(),
                name: Some("b".into()),
                content: vec![Part::Text {
                    text: "boom".into()
                }],
                is_error: true
            },
            Part::ToolResult {
                tool_call_id: "call_f46e28388eb8_0".into(),
                name: Some("a".into()),
                content: vec![Part::Text { text: "ok".into() }],
                is_error: false
            },
        ]
    );
    let again = decode_request("m", false, &encode_request(&req).unwrap()).unwrap();
    assert_eq!(again, req);
}

/// Ids made up for id-less calls: from the responseId (the same in a
/// response and its stream, different from one answer to the next), else
/// from the call itself; always the same for the same input.
#[test]
fn generated_call_ids_are_unique_per_answer_and_deterministic() {
    use super::wire::generated_call_id;
    assert_eq!(
        generated_call_id(Some("resp-turn-1"), "f", "{}", 0),
        "call_e157edaadf7e_0"
    );
    assert_eq!(
        generated_call_id(Some("resp-turn-2"), "f", "{}", 0),
        "call_fba6ba1cf3f2_0"
    );
    assert_eq!(
        generated_call_id(Some("resp-turn-1"), "g", "{\"a\":1}", 1),
        "call_e157edaadf7e_1"
    );
    // Without a responseId (or an empty one): name, arguments and index.
    assert_eq!(generated_call_id(None, "a", "{}", 0), "call_f46e28388eb8_0");
    assert_eq!(
        generated_call_id(Some(""), "a", "{}", 0),
        generated_call_id(None, "a", "{}", 0)
    );
    assert_ne!(
        generated_call_id(None, "a", "{}", 0),
        generated_call_id(None, "a", "{\"x\":1}", 0)
    );

    // A response and the same answer streamed get the same ids; two answers
    // get different ones.
    let answer = |response_id: &str| {
        json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"name": "f", "args": {"a": 1}}},
                {"functionCall": {"name": "f", "args": {"a": 2}}}
            ]}, "finishReason": "STOP", "index": 0}],
            "responseId": response_id
        })
    };
    let ids = |parts: &[Part]| -> Vec<String> {
        parts
            .iter()
            .filter_map(|p| match p {
                Part::ToolCall { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    };
    let first = decode_response(answer("r1").to_string().as_bytes()).unwrap();
    let again = decode_response(answer("r1").to_string().as_bytes()).unwrap();
    let second = decode_response(answer("r2").to_string().as_bytes()).unwrap();
    assert_eq!(ids(&first.content), ids(&again.content));
    assert_eq!(ids(&first.content).len(), 2);
    assert_ne!(ids(&first.content)[0], ids(&first.content)[1]);
    assert!(
        ids(&first.content)
            .iter()
            .all(|i| !ids(&second.content).contains(i))
    );
    let sse = format!("data: {}\r\n\r\n", answer("r1"));
    let streamed = collect(&decode_stream(sse.as_bytes()));
    assert_eq!(ids(&streamed.content), ids(&first.content));
}

#[test]
fn images_both_ways() {
    let req = ChatRequest {
        messages: vec![msg(
            Role::User,
            vec![
                Part::Image {
                    source: ImageSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBOR".into(),
                    },
                },
                Part::Image {
                    source: ImageSource::Url {
                        url: "data:image/jpeg;base64,/9j/".into(),
                    },
                },
                Part::Image {
                    source: ImageSource::Url {
                        url: "gs://bucket/cat.webp".into(),
                    },
                },
            ],
        )],
        ..Default::default()
    };
    let body: Value = serde_json::from_slice(&encode_request(&req).unwrap()).unwrap();
    assert_eq!(
        body["contents"][0]["parts"],
        json!([
            {"inlineData": {"mimeType": "image/png", "data": "iVBOR"}},
            {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}},
            {"fileData": {"mimeType": "image/webp", "fileUri": "gs://bucket/cat.webp"}}
        ])
    );
}

#[test]
fn signatures_go_on_the_part_that_follows() {
    let parts = vec![
        Part::Thinking {
            text: "plan".into(),
            signature: Some("S1".into()),
        },
        call("c1", "f", "{}"),
        call("c2", "g", "{}"),
        Part::Thinking {
            text: "more".into(),
            signature: Some("S2".into()),
        },
        Part::Thinking {
            text: String::new(),
            signature: Some("S3".into()),
        },
    ];
    let req = ChatRequest {
        messages: vec![msg(Role::Assistant, parts)],
        ..Default::default()
    };
    let body: Value = serde_json::from_slice(&encode_request(&req).unwrap()).unwrap();
    assert_eq!(
        body["contents"][0]["parts"],
        json!([
            {"text": "plan", "thought": true},
            {"functionCall": {"id": "c1", "name": "f", "args": {}}, "thoughtSignature": "S1"},
            {"functionCall": {"id": "c2", "name": "g", "args": {}}},
            {"text": "more", "thought": true, "thoughtSignature": "S2"},
            {"text": "", "thought": true, "thoughtSignature": "S3"}
        ])
    );
    let back = decode_request("m", false, &serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(back.messages, req.messages);
}

#[test]
fn generation_config_both_ways() {
    let req = ChatRequest {
        model: "gemini-2.5-flash".into(),
        system: vec!["be brief".into(), "be kind".into()],
        messages: vec![msg(Role::User, vec![Part::Text { text: "q".into() }])],
        max_tokens: Some(100),
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(40),
        stop: vec!["END".into()],
        tools: vec![Tool {
            name: "f".into(),
            description: Some("does f".into()),
            parameters: json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
        }],
        tool_choice: Some(ToolChoice::Tool("f".into())),
        response_format: Some(ResponseFormat::JsonObject),
        reasoning: Some(Reasoning {
            effort: None,
            budget_tokens: Some(2048),
        }),
        presence_penalty: Some(0.1),
        frequency_penalty: Some(0.2),
        seed: Some(7),
        ..Default::default()
    };
    let body: Value = serde_json::from_slice(&encode_request(&req).unwrap()).unwrap();
    assert_eq!(
        body["generationConfig"],
        json!({"maxOutputTokens": 100, "temperature": 0.5, "topP": 0.9, "topK": 40,
               "stopSequences": ["END"], "seed": 7, "presencePenalty": 0.1, "frequencyPenalty": 0.2,
               "responseMimeType": "application/json",
               "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}})
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}})
    );
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "be brief"}, {"text": "be kind"}]})
    );
    assert!(body.get("model").is_none());
    let back = decode_request(
        "gemini-2.5-flash",
        false,
        &serde_json::to_vec(&body).unwrap(),
    )
    .unwrap();
    assert_eq!(back, req);

    // Effort: a budget in general, a level for Gemini 3; `none` disables.
    let effort = |model: &str, e: &str| {
        let r = ChatRequest {
            model: model.into(),
            reasoning: Some(Reasoning {
                effort: Some(e.into()),
                budget_tokens: None,
            }),
            ..Default::default()
        };
        let v: Value = serde_json::from_slice(&encode_request(&r).unwrap()).unwrap();
        v["generationConfig"]["thinkingConfig"].clone()
    };
    assert_eq!(
        effort("gemini-2.5-pro", "high"),
        json!({"thinkingBudget": 24576, "includeThoughts": true})
    );
    assert_eq!(
        effort("gemini-3-pro-preview", "low"),
        json!({"thinkingLevel": "low", "includeThoughts": true})
    );
    assert_eq!(
        effort("gemini-3-flash-preview", "medium"),
        json!({"thinkingBudget": 8192, "includeThoughts": true})
    );
    assert_eq!(
        effort("gemini-2.5-flash", "none"),
        json!({"thinkingBudget": 0})
    );

    let big_seed = ChatRequest {
        seed: Some(1 << 40),
        ..Default::default()
    };
    assert_eq!(encode_request(&big_seed).unwrap_err().path, "seed");
}

#[test]
fn thinking_config_and_response_schema_decode() {
    let body = json!({
        "contents": [{"parts": [{"text": "q"}]}],
        "generationConfig": {
            "thinkingConfig": {"thinkingBudget": -1, "includeThoughts": true},
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}}
        },
        "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}
    });
    let req = decode_request("m", true, body.to_string().as_bytes()).unwrap();
    assert_eq!(req.reasoning, Some(Reasoning::default()));
    assert_eq!(req.tool_choice, Some(ToolChoice::None));
    assert_eq!(
        req.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
            strict: None
        })
    );
    let level =
        json!({"contents": [], "generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}}});
    let req = decode_request("gemini-3-pro", false, level.to_string().as_bytes()).unwrap();
    assert_eq!(
        req.reasoning,
        Some(Reasoning {
            effort: Some("high".into()),
            budget_tokens: None
        })
    );
    let again = decode_request("gemini-3-pro", false, &encode_request(&req).unwrap()).unwrap();
    assert_eq!(again.reasoning, req.reasoning);
}

#[test]
fn schemas_are_sanitised_for_gemini() {
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": false,
        "strict": true,
        "properties": {
            "name": {"type": ["string", "null"], "description": "who"},
            "type": {"const": "fixed"},
            "tags": {"type": "array", "items": {"type": "string"}, "examples": [["a"]]},
            "pet": {"$ref": "#/$defs/Pet", "description": "their pet"},
            "either": {"oneOf": [{"type": "integer"}, {"type": "string"}]}
        },
        "required": ["name"],
        "$defs": {"Pet": {"type": "object", "additionalProperties": false,
                          "properties": {"kind": {"type": "string", "enum": ["cat", "dog"]}}}}
    });
    assert_eq!(
        to_gemini_schema(&schema),
        json!({
            "type": "OBJECT",
            "properties": {
                "name": {"type": "STRING", "nullable": true, "description": "who"},
                "type": {"enum": ["fixed"]},
                "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
                "pet": {"type": "OBJECT", "description": "their pet",
                        "properties": {"kind": {"type": "STRING", "enum": ["cat", "dog"]}}},
                "either": {"anyOf": [{"type": "INTEGER"}, {"type": "STRING"}]}
            },
            "required": ["name"]
        })
    );
    // A recursive schema stays bounded.
    let recursive = json!({"type": "object", "properties": {"child": {"$ref": "#/$defs/N"}},
        "$defs": {"N": {"type": "object", "properties": {
            "l": {"$ref": "#/$defs/N"}, "r": {"$ref": "#/$defs/N"}}}}});
    let out = to_gemini_schema(&recursive).to_string();
    assert!(out.len() < 200_000, "{}", out.len());
}

#[test]
fn response_encoding_shape() {
    let resp = ChatResponse {
        id: "r1".into(),
        model: "gemini-2.5-flash".into(),
        created: 0,
        content: vec![
            Part::Text {
                text: "Calling.".into(),
            },
            call("call_0", "f", "{\"a\":1}"),
        ],
        stop_reason: StopReason::ToolCalls,
        usage: TokenUsage {
            input_tokens: 3,
            output_tokens: 4,
            ..Default::default()
        },
    };
    let v: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
    assert_eq!(
        v,
        json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Calling."},
                {"functionCall": {"id": "call_0", "name": "f", "args": {"a": 1}}}]},
                "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "r1"
        })
    );
    assert_eq!(decode_response(&encode_response(&resp)).unwrap(), resp);
}

#[test]
fn rfc3339_both_ways() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339("2026-03-21T18:11:55.919086Z"),
        Some(1_774_116_715)
    );
    assert_eq!(
        parse_rfc3339("2026-03-21T19:11:55+01:00"),
        Some(1_774_116_715)
    );
    assert_eq!(format_rfc3339(1_774_116_715), "2026-03-21T18:11:55Z");
    assert_eq!(parse_rfc3339("yesterday"), None);
    assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
}
