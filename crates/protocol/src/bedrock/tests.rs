use super::eventstream::{FrameDecoder, encode_frame};
use super::*;
use crate::canonical::{Part, StopReason, StreamCollector, StreamEvent, TokenUsage};
use crate::dialect::{StreamDecode, StreamEncode};
use serde_json::Value;

const ROOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/bedrock"
);

/// `(case, contents)` of `file` in every `converse-*` fixture having it.
fn fixtures(file: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    for case in std::fs::read_dir(ROOT).unwrap().flatten() {
        let name = case.file_name().to_string_lossy().to_string();
        if !name.starts_with("converse-") {
            continue;
        }
        if let Ok(b) = std::fs::read(case.path().join(file)) {
            out.push((name, b));
        }
    }
    out.sort();
    out
}

fn fixture(path: &str) -> Vec<u8> {
    let p = format!("{ROOT}/{path}");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn base64_decode(s: &[u8]) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("invalid base64 byte {c}"),
        }
    };
    let clean: Vec<u8> = s
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_helper() {
    assert_eq!(base64_decode(b"aGVsbG8="), b"hello");
    assert_eq!(base64_decode(b"aGVsbG8h"), b"hello!");
    assert_eq!(base64_decode(b"aGk="), b"hi");
}

fn stream_fixtures() -> Vec<(String, Vec<u8>)> {
    let s: Vec<_> = fixtures("response.bin.b64")
        .into_iter()
        .map(|(n, b)| (n, base64_decode(&b)))
        .collect();
    assert_eq!(s.len(), 5, "stream fixtures");
    s
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

fn collect(events: &[StreamEvent]) -> crate::canonical::ChatResponse {
    let mut c = StreamCollector::default();
    for e in events {
        c.push(e);
    }
    assert_eq!(c.error, None);
    c.finish()
}

#[test]
fn fixture_requests_decode_and_round_trip() {
    let all = fixtures("request.json");
    assert!(all.len() >= 10, "request fixtures: {}", all.len());
    for (name, body) in all {
        let req = decode_request(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!req.messages.is_empty(), "{name}");
        let encoded = encode_request(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = decode_request(&encoded).unwrap();
        assert_eq!(again, req, "{name}");
    }
}

#[test]
fn fixture_request_details() {
    let req = decode_request(&fixture("converse-tool-result-followup/request.json")).unwrap();
    assert_eq!(req.system, vec!["You are a helpful chatbot."]);
    assert_eq!(req.tools.len(), 2);
    assert_eq!(
        req.tool_choice,
        Some(crate::canonical::ToolChoice::Required)
    );
    assert_eq!(req.messages.len(), 3);
    assert_eq!(req.messages[2].role, crate::canonical::Role::Tool);
    assert_eq!(
        req.messages[2].content[0],
        Part::ToolResult {
            tool_call_id: "tooluse_Mj06ft-ITJik1Otgpkc1uA".into(),
            name: Some("temperature".into()),
            content: vec![Part::Text {
                text: "30\u{b0}C".into()
            }],
            is_error: false,
        }
    );

    let req = decode_request(&fixture("converse-claude-thinking/request.json")).unwrap();
    assert_eq!(req.reasoning.and_then(|r| r.budget_tokens), Some(1024));

    let req = decode_request(&fixture("converse-stream-tools/request.json")).unwrap();
    assert_eq!(req.top_p, Some(0.5));
    assert_eq!(req.tool_choice, None);

    // The document and cache points have no canonical form: dropped.
    let req = decode_request(&fixture("converse-cache-usage/request.json")).unwrap();
    assert_eq!(req.system.len(), 1);
    assert_eq!(req.tools.len(), 2);
    assert_eq!(req.messages[0].content.len(), 3);
    assert!(
        req.messages[0]
            .content
            .iter()
            .all(|p| matches!(p, Part::Text { .. }))
    );
}

#[test]
fn fixture_responses_decode_and_round_trip() {
    let all = fixtures("response.json");
    assert!(all.len() >= 7, "response fixtures: {}", all.len());
    for (name, body) in all {
        let resp = decode_response(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!resp.content.is_empty(), "{name}");
        assert!(resp.usage.input_tokens > 0, "{name}");
        assert_eq!(resp.id, "", "{name}");
        let again = decode_response(&encode_response(&resp)).unwrap();
        assert_eq!(again, resp, "{name}");
    }
}

#[test]
fn fixture_response_details() {
    let r = decode_response(&fixture("converse-cache-usage/response.json")).unwrap();
    assert_eq!(
        r.usage,
        TokenUsage {
            input_tokens: 1324,
            output_tokens: 5,
            cached_tokens: 1322,
            cache_creation_tokens: 0,
            reasoning_tokens: 0,
        }
    );

    let r = decode_response(&fixture("converse-structured-output-tool/response.json")).unwrap();
    assert_eq!(r.stop_reason, StopReason::ToolCalls);
    let Part::ToolCall {
        id,
        name,
        arguments,
    } = &r.content[0]
    else {
        panic!("{:?}", r.content);
    };
    assert_eq!(id, "tooluse_Mj06ft-ITJik1Otgpkc1uA");
    assert_eq!(name, "temperature");
    let args: Value = serde_json::from_str(arguments).unwrap();
    assert_eq!(
        args,
        serde_json::json!({"city": "London", "date": "2022-01-01"})
    );

    let r = decode_response(&fixture("converse-claude-thinking/response.json")).unwrap();
    assert!(matches!(
        &r.content[0],
        Part::Thinking { text, signature: Some(s) } if text.starts_with("This is") && s.starts_with("Eu4C")
    ));
    assert!(matches!(&r.content[1], Part::Text { .. }));
    assert_eq!(r.stop_reason, StopReason::Stop);
}

#[test]
fn fixture_errors_decode() {
    for case in [
        "error-400-converse-invalid-model",
        "error-400-converse-stream-invalid-model",
    ] {
        let e = decode_error(400, &fixture(&format!("{case}/response.json")));
        assert_eq!(e.status, Some(400), "{case}");
        assert_eq!(e.kind, "invalid_request_error", "{case}");
        assert_eq!(e.message, "The provided model identifier is invalid.");
    }
}

/// The frames decode to exactly the recorded `response.events.json`.
#[test]
fn fixture_frames_match_recorded_events() {
    for (name, bytes) in stream_fixtures() {
        let recorded: Vec<Value> =
            serde_json::from_slice(&fixture(&format!("{name}/response.events.json"))).unwrap();
        let mut d = FrameDecoder::new();
        d.push(&bytes);
        let mut frames = vec![];
        while let Some(f) = d.next_frame().unwrap() {
            frames.push(f);
        }
        assert_eq!(d.buffered(), 0, "{name}");
        assert_eq!(frames.len(), recorded.len(), "{name}");
        for (k, (f, r)) in frames.iter().zip(&recorded).enumerate() {
            let headers: serde_json::Map<String, Value> = f
                .headers
                .iter()
                .map(|(n, v)| match v {
                    eventstream::HeaderValue::String(s) => (n.clone(), Value::from(s.clone())),
                    other => panic!("{name}[{k}] non-string header {other:?}"),
                })
                .collect();
            assert_eq!(Value::Object(headers), r["headers"], "{name}[{k}]");
            let payload: Value = serde_json::from_slice(&f.payload).unwrap();
            assert_eq!(payload, r["payload"], "{name}[{k}]");
        }
    }
}

/// An independent reading of `response.events.json` as canonical events.
fn expected_events(recorded: &[Value]) -> Vec<StreamEvent> {
    let mut out = vec![];
    let mut tools: Vec<(u64, u32)> = vec![];
    let s = |v: &Value| v.as_str().unwrap().to_string();
    for r in recorded {
        let p = &r["payload"];
        let block = p["contentBlockIndex"].as_u64().unwrap_or(0);
        match r["headers"][":event-type"].as_str().unwrap() {
            "messageStart" => out.push(StreamEvent::Start {
                id: String::new(),
                model: String::new(),
                created: 0,
                usage: TokenUsage::default(),
            }),
            "contentBlockStart" => {
                let tu = &p["start"]["toolUse"];
                let index = tools.len() as u32;
                tools.push((block, index));
                out.push(StreamEvent::ToolCallStart {
                    index,
                    id: s(&tu["toolUseId"]),
                    name: s(&tu["name"]),
                });
            }
            "contentBlockDelta" => {
                let d = &p["delta"];
                if let Some(t) = d["text"].as_str().filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { text: t.into() });
                }
                if let Some(a) = d["toolUse"]["input"].as_str() {
                    let index = tools.iter().find(|(b, _)| *b == block).unwrap().1;
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: a.into(),
                    });
                }
                let rc = &d["reasoningContent"];
                if let Some(t) = rc["text"].as_str() {
                    out.push(StreamEvent::ThinkingDelta { text: t.into() });
                }
                if let Some(t) = rc["signature"].as_str() {
                    out.push(StreamEvent::ThinkingSignature {
                        signature: t.into(),
                    });
                }
                if let Some(t) = rc["redactedContent"].as_str() {
                    out.push(StreamEvent::RedactedThinking { data: t.into() });
                }
            }
            "contentBlockStop" => {}
            "messageStop" => out.push(StreamEvent::Finish {
                reason: match p["stopReason"].as_str().unwrap() {
                    "end_turn" => StopReason::Stop,
                    "tool_use" => StopReason::ToolCalls,
                    other => panic!("unexpected stop reason {other}"),
                },
            }),
            "metadata" => {
                let u = &p["usage"];
                let n = |k: &str| u[k].as_u64().unwrap_or(0);
                out.push(StreamEvent::Usage {
                    usage: TokenUsage {
                        input_tokens: n("inputTokens")
                            + n("cacheReadInputTokens")
                            + n("cacheWriteInputTokens"),
                        output_tokens: n("outputTokens"),
                        cached_tokens: n("cacheReadInputTokens"),
                        cache_creation_tokens: n("cacheWriteInputTokens"),
                        reasoning_tokens: 0,
                    },
                });
            }
            other => panic!("unexpected event type {other}"),
        }
    }
    out
}

#[test]
fn fixture_streams_decode_to_the_recorded_event_sequence() {
    for (name, bytes) in stream_fixtures() {
        let recorded: Vec<Value> =
            serde_json::from_slice(&fixture(&format!("{name}/response.events.json"))).unwrap();
        assert_eq!(
            decode_all(&bytes, &[]),
            expected_events(&recorded),
            "{name}"
        );
    }
}

#[test]
fn fixture_streams_decode_the_same_in_any_chunking() {
    let mut rng = fastrand::Rng::with_seed(0x5ed_b0c4);
    for (name, bytes) in stream_fixtures() {
        let whole = decode_all(&bytes, &[]);
        assert!(
            matches!(whole.first(), Some(StreamEvent::Start { .. })),
            "{name}"
        );
        let ones = vec![1; bytes.len()];
        assert_eq!(decode_all(&bytes, &ones), whole, "{name} byte by byte");
        for round in 0..50 {
            // Cut points anywhere, including inside preludes and CRCs.
            let mut pieces = vec![];
            let mut left = bytes.len();
            while left > 0 {
                let n = rng.usize(1..=left.min(400));
                pieces.push(n);
                left -= n;
            }
            assert_eq!(
                decode_all(&bytes, &pieces),
                whole,
                "{name} random split {round}"
            );
        }
    }
}

#[test]
fn fixture_stream_contents() {
    let by_name = |n: &str| {
        let (_, b) = stream_fixtures()
            .into_iter()
            .find(|(name, _)| name == n)
            .unwrap();
        collect(&decode_all(&b, &[]))
    };

    let r = by_name("converse-stream-basic");
    assert!(
        matches!(&r.content[..], [Part::Text { text }] if text.starts_with("The capital of France is Paris."))
    );
    assert_eq!(r.usage.input_tokens, 13);
    assert_eq!(r.usage.output_tokens, 82);

    let r = by_name("converse-stream-tools");
    assert_eq!(r.stop_reason, StopReason::ToolCalls);
    assert_eq!(
        r.content[1],
        Part::ToolCall {
            id: "tooluse_lAG_zP8QRHmSYOwZzzaCqA".into(),
            name: "get_temperature".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }
    );

    let r = by_name("converse-stream-claude-thinking");
    assert!(matches!(
        &r.content[0],
        Part::Thinking { text, signature: Some(s) } if text.starts_with("The user has") && s.starts_with("Eu0C")
    ));
    assert!(matches!(&r.content[1], Part::Text { .. }));

    let r = by_name("converse-stream-redacted-thinking");
    assert!(matches!(
        &r.content[..],
        [
            Part::RedactedThinking { .. },
            Part::RedactedThinking { .. },
            Part::Text { .. }
        ]
    ));

    // The empty first text delta leaves no trace.
    let r = by_name("converse-stream-gpt-oss-empty-delta");
    assert!(matches!(
        &r.content[..],
        [Part::Thinking { signature: None, .. }, Part::Text { text }] if text == "Hello! How can I help you today?"
    ));
}

fn encode_all(events: &[StreamEvent]) -> Vec<u8> {
    let mut e = StreamEncoder::new();
    let mut out = vec![];
    for ev in events {
        e.encode(ev, &mut out);
    }
    e.finish(&mut out);
    out
}

#[test]
fn stream_encoder_output_decodes_to_the_same_content() {
    for (name, bytes) in stream_fixtures() {
        let events = decode_all(&bytes, &[]);
        let encoded = encode_all(&events);
        let again = decode_all(&encoded, &[]);
        assert_eq!(collect(&again), collect(&events), "{name}");
        // And the encoder's frames are in recorded order and shape.
        assert_eq!(again, events, "{name}");
    }
}

#[test]
fn stream_encoder_handles_interleaved_calls_and_thinking_runs() {
    let events = vec![
        StreamEvent::Start {
            id: "x".into(),
            model: "m".into(),
            created: 1,
            usage: TokenUsage::default(),
        },
        StreamEvent::ThinkingDelta { text: "a".into() },
        StreamEvent::ThinkingSignature {
            signature: "s1".into(),
        },
        StreamEvent::ThinkingDelta { text: "b".into() },
        StreamEvent::ThinkingSignature {
            signature: "s2".into(),
        },
        StreamEvent::RedactedThinking { data: "R".into() },
        StreamEvent::TextDelta { text: "hi".into() },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "c0".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "c1".into(),
            name: "g".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"a\":".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{}".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "1}".into(),
        },
        StreamEvent::Finish {
            reason: StopReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: TokenUsage {
                input_tokens: 10,
                output_tokens: 3,
                cached_tokens: 4,
                cache_creation_tokens: 2,
                reasoning_tokens: 0,
            },
        },
    ];
    let mut want = collect(&events);
    // Converse streams carry no id, model or timestamp.
    want.id.clear();
    want.model.clear();
    want.created = 0;
    let got = collect(&decode_all(&encode_all(&events), &[]));
    assert_eq!(got, want);
    assert_eq!(
        got.content[..2],
        [
            Part::Thinking {
                text: "a".into(),
                signature: Some("s1".into())
            },
            Part::Thinking {
                text: "b".into(),
                signature: Some("s2".into())
            }
        ]
    );
}

/// `(event type, contentBlockIndex)` of every frame.
fn frame_kinds(bytes: &[u8]) -> Vec<(String, Option<u64>)> {
    let mut d = FrameDecoder::new();
    d.push(bytes);
    let mut out = vec![];
    while let Some(f) = d.next_frame().unwrap() {
        let payload: Value = serde_json::from_slice(&f.payload).unwrap();
        out.push((
            f.header_str(":event-type").unwrap_or_default().to_string(),
            payload["contentBlockIndex"].as_u64(),
        ));
    }
    out
}

#[test]
fn stream_encoder_closes_sequential_tool_blocks_in_order() {
    let start = |index: u32, id: &str| StreamEvent::ToolCallStart {
        index,
        id: id.into(),
        name: "f".into(),
    };
    let delta = |index: u32, a: &str| StreamEvent::ToolCallDelta {
        index,
        arguments: a.into(),
    };
    let events = vec![
        StreamEvent::TextDelta { text: "hi".into() },
        start(0, "c0"),
        delta(0, "{\"a\":"),
        delta(0, "1}"),
        start(1, "c1"),
        delta(1, "{}"),
        StreamEvent::Finish {
            reason: StopReason::ToolCalls,
        },
    ];
    let kinds = frame_kinds(&encode_all(&events));
    let k = |t: &str, i: u64| (t.to_string(), Some(i));
    let blocks: Vec<_> = kinds
        .iter()
        .filter(|(t, _)| t.starts_with("contentBlock"))
        .cloned()
        .collect();
    assert_eq!(
        blocks,
        [
            k("contentBlockDelta", 0),
            k("contentBlockStop", 0),
            k("contentBlockStart", 1),
            k("contentBlockDelta", 1),
            k("contentBlockDelta", 1),
            k("contentBlockStop", 1),
            k("contentBlockStart", 2),
            k("contentBlockDelta", 2),
            k("contentBlockStop", 2),
        ]
    );
    let got = collect(&decode_all(&encode_all(&events), &[]));
    assert_eq!(got.content.len(), 3);

    // A call whose arguments are still incomplete when the next starts
    // stays open, so that an interleaving source loses nothing.
    let events = vec![
        start(0, "c0"),
        delta(0, "{\"a\":"),
        start(1, "c1"),
        delta(1, "{}"),
        delta(0, "1}"),
    ];
    let kinds = frame_kinds(&encode_all(&events));
    let stop0 = kinds.iter().position(|x| *x == k("contentBlockStop", 0));
    let last_delta0 = kinds.iter().rposition(|x| *x == k("contentBlockDelta", 0));
    assert!(stop0 > last_delta0, "{kinds:?}");
    let got = collect(&decode_all(&encode_all(&events), &[]));
    assert_eq!(
        got.content,
        [
            Part::ToolCall {
                id: "c0".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into()
            },
            Part::ToolCall {
                id: "c1".into(),
                name: "f".into(),
                arguments: "{}".into()
            }
        ]
    );
}

#[test]
fn stream_errors_both_ways() {
    let events = vec![
        StreamEvent::Start {
            id: String::new(),
            model: String::new(),
            created: 0,
            usage: TokenUsage::default(),
        },
        StreamEvent::TextDelta { text: "par".into() },
        StreamEvent::Error {
            error: crate::dialect::stream_error(Some(429), "slow down"),
        },
        // Nothing after an error.
        StreamEvent::TextDelta {
            text: "tial".into(),
        },
    ];
    let got = decode_all(&encode_all(&events), &[]);
    assert_eq!(got, events[..3]);

    // A model stream error as Bedrock sends it.
    let frame = encode_frame(
        &[
            (":exception-type", "modelStreamErrorException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"Model failed","originalStatusCode":500}"#,
    );
    let got = decode_all(&frame, &[]);
    let [StreamEvent::Error { error }] = &got[..] else {
        panic!("{got:?}");
    };
    assert_eq!(error.status, Some(424));
    assert_eq!(error.message, "Model failed");
}

#[test]
fn truncated_stream_is_an_error_at_finish() {
    let (_, bytes) = stream_fixtures().remove(0);
    let mut d = StreamDecoder::new();
    let mut out = vec![];
    d.push(&bytes[..bytes.len() - 3], &mut out).unwrap();
    assert!(d.finish(&mut out).is_err());
}

#[test]
fn corrupted_stream_is_an_error() {
    let (_, mut bytes) = stream_fixtures().remove(0);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    let mut d = StreamDecoder::new();
    let mut out = vec![];
    assert!(d.push(&bytes, &mut out).is_err());
}
