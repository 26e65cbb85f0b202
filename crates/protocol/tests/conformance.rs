//! Cross-dialect conformance suite.
//!
//! For every client (ingress) dialect x provider dialect pair, streamed and
//! not, this runs the four paths the gateway runs:
//!
//! - request: client body -> `decode_request` -> canonical -> provider
//!   `encode_request` -> golden `golden/request/{ingress}-to-{provider}[-stream].json`;
//!   the canonical request is goldened once per ingress
//!   (`golden/canonical/{ingress}-request.json`);
//! - response: provider answer -> `decode_response` -> client
//!   `encode_response` -> golden `golden/response/{provider}-to-{ingress}.json`;
//! - stream: a canonical event script -> provider `StreamEncoder` -> bytes ->
//!   provider `StreamDecoder` (three chunkings, identical events) -> client
//!   `StreamEncoder` -> golden `golden/stream/{provider}-to-{ingress}.txt`;
//! - error: provider error bodies -> `decode_error` -> client
//!   `encode_error` -> golden `golden/error/{provider}-to-{ingress}.json`.
//!
//! Beside each golden, structural checks compare what survives with what
//! the dialect modules' mapping tables promise, so that a wrong golden
//! cannot hide a loss. Goldens are (re)written with `UPDATE_GOLDEN=1`; a
//! mismatch leaves the actual output next to the golden as `<file>.new`.
//! `golden/REVIEW.md` records the hand review of every golden.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde::Serialize;
use serde_json::{Value, json};
use switchyard_protocol::canonical::{
    ChatRequest, ChatResponse, ImageSource, Part, Reasoning, ResponseFormat, Role, StopReason,
    StreamError, StreamEvent, TokenUsage, ToolChoice,
};
use switchyard_protocol::{anthropic, gemini, openai};

use support::fixtures::*;
use support::*;

// ===========================================================================
// The gateway's part: what it fills in between decode and encode.

/// The id the gateway makes up when an answer has none (it uses a random
/// one; a fixed one keeps the goldens deterministic).
const FILL_ID: &str = "gw-0000000000000001";
/// The time the gateway stamps on an answer that has none.
const FILL_CREATED: u64 = 1_735_689_700;

/// Fill what the provider did not send, as `switchyard_gateway`'s `Fill`
/// does (only empty values are replaced).
fn fill(id: &mut String, model: &mut String, created: &mut u64, provider: Dialect) {
    if id.is_empty() {
        *id = FILL_ID.into();
    }
    if model.is_empty() {
        *model = provider_model(provider).into();
    }
    if *created == 0 {
        *created = FILL_CREATED;
    }
}

fn fill_events(events: &mut [StreamEvent], provider: Dialect) {
    for ev in events {
        if let StreamEvent::Start {
            id, model, created, ..
        } = ev
        {
            fill(id, model, created, provider);
        }
    }
}

// ===========================================================================
// Small accessors

fn texts(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn thinking_text(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Thinking { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn signatures(parts: &[Part]) -> Vec<String> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Thinking {
                signature: Some(s), ..
            } if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// `(id, name, parsed arguments)` of every tool call.
fn calls(parts: &[Part]) -> Vec<(String, String, Value)> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall {
                id,
                name,
                arguments,
            } => Some((
                id.clone(),
                name.clone(),
                serde_json::from_str(arguments).unwrap_or_else(|e| {
                    panic!("arguments of {name} are not JSON ({e}): {arguments}")
                }),
            )),
            _ => None,
        })
        .collect()
}

fn weather_args() -> Value {
    json!({"city": "Paris", "unit": "celsius"})
}

fn time_args() -> Value {
    json!({"timezone": "Asia/Tokyo"})
}

fn pair_name(from: Dialect, to: Dialect) -> String {
    format!("{}-to-{}", from.name(), to.name())
}

// ===========================================================================
// Request path

/// The ids the client gave its two calls (Gemini sends none: the decoder
/// makes them up from each call's name, arguments and number).
fn client_call_ids(ingress: Dialect) -> [&'static str; 2] {
    match ingress {
        OpenAi => ["call_Wx7pQ2", "call_Tm4kR9"],
        Anthropic => ["toolu_01Wx7pQ2", "toolu_01Tm4kR9"],
        Gemini => ["call_f1c803b1322f_0", "call_03d680580ce4_1"],
        Bedrock => unreachable!(),
    }
}

/// The client request decoded says what the hand-written body says.
fn check_client_canonical(ingress: Dialect, req: &ChatRequest) {
    let ctx = ingress.name();
    assert_eq!(
        req.system.join(" "),
        "You are Switchyard's travel assistant. Answer in one short paragraph.",
        "{ctx}: system"
    );
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::Tool
        ],
        "{ctx}: roles"
    );
    assert_eq!(
        texts(&req.messages[0].content),
        "Hi! I have two photos for you."
    );
    assert_eq!(texts(&req.messages[1].content), "Great, send them over.");
    let images: Vec<&ImageSource> = req.messages[2]
        .content
        .iter()
        .filter_map(|p| match p {
            Part::Image { source } => Some(source),
            _ => None,
        })
        .collect();
    assert_eq!(
        images,
        [
            &ImageSource::Url {
                url: IMAGE_URL.into()
            },
            &ImageSource::Base64 {
                media_type: "image/png".into(),
                data: PNG_1X1.into()
            }
        ],
        "{ctx}: images"
    );
    let turn = &req.messages[3].content;
    let ids = client_call_ids(ingress);
    assert_eq!(
        calls(turn),
        [
            (ids[0].into(), "get_weather".into(), weather_args()),
            (ids[1].into(), "get_time".into(), time_args())
        ],
        "{ctx}: tool calls"
    );
    match ingress {
        OpenAi => assert!(signatures(turn).is_empty(), "{ctx}: no thinking"),
        Anthropic => assert_eq!(
            signatures(turn),
            ["EqQBCkgIBxABGAIqQAnthropicPriorTurnSignature0001+/=="]
        ),
        Gemini => assert_eq!(
            signatures(turn),
            ["CiQBcsjafGeminiPriorTurnSignature0001+/=="]
        ),
        Bedrock => unreachable!(),
    }
    if ingress != OpenAi {
        assert!(thinking_text(turn).starts_with("Both photos show the Eiffel Tower"));
    }
    let results: Vec<(String, Value)> = req.messages[4]
        .content
        .iter()
        .map(|p| match p {
            Part::ToolResult {
                tool_call_id,
                content,
                is_error: false,
                ..
            } => (tool_call_id.clone(), json_or_text(&texts(content))),
            other => panic!("{ctx}: not a tool result: {other:?}"),
        })
        .collect();
    assert_eq!(
        results,
        [
            (ids[0].into(), json!("18°C, light rain")),
            (
                ids[1].into(),
                json!({"time": "21:04", "timezone": "Asia/Tokyo"})
            )
        ],
        "{ctx}: tool results"
    );
    let tools: Vec<(&str, Option<&str>)> = req
        .tools
        .iter()
        .map(|t| (t.name.as_str(), t.description.as_deref()))
        .collect();
    assert_eq!(
        tools,
        [
            ("get_weather", Some("Current weather for a city.")),
            ("get_time", Some("Current local time in an IANA time zone."))
        ]
    );
    assert_eq!(
        schema_shape(&req.tools[0].parameters),
        json!({"properties": {"city": "string", "unit": "string"}, "required": ["city", "unit"]})
    );
    assert_eq!(
        req.tool_choice,
        Some(ToolChoice::Tool("get_weather".into()))
    );
    assert_eq!(req.stop, ["END", "---"]);
    assert_eq!(req.max_tokens, Some(4096));
    let (temperature, top_p, top_k) = match ingress {
        Anthropic => (1.0, 0.95, None),
        Gemini => (0.7, 0.9, Some(40)),
        _ => (0.7, 0.9, None),
    };
    assert_eq!(req.temperature, Some(temperature), "{ctx}: temperature");
    assert_eq!(req.top_p, Some(top_p), "{ctx}: top_p");
    assert_eq!(req.top_k, top_k, "{ctx}: top_k");
    let reasoning = match ingress {
        OpenAi => Reasoning {
            effort: Some("low".into()),
            budget_tokens: None,
        },
        _ => Reasoning {
            effort: None,
            budget_tokens: Some(2048),
        },
    };
    assert_eq!(req.reasoning, Some(reasoning), "{ctx}: reasoning");
    let Some(ResponseFormat::JsonSchema { name, schema, .. }) = &req.response_format else {
        panic!("{ctx}: response format {:?}", req.response_format);
    };
    assert_eq!(
        name,
        if ingress == OpenAi {
            "trip_report"
        } else {
            "response"
        }
    );
    assert_eq!(
        schema_shape(schema),
        json!({"properties": {"city": "string", "summary": "string"}, "required": ["city", "summary"]})
    );
}

/// What a JSON schema must keep through every dialect: property names with
/// their (lower-case) types, and the required list.
fn schema_shape(schema: &Value) -> Value {
    let props: serde_json::Map<String, Value> = schema["properties"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let t = v["type"].as_str().unwrap_or("?").to_ascii_lowercase();
                    (k.clone(), Value::String(t))
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"properties": props, "required": schema["required"]})
}

/// JSON-object text in canonical form (parsed and re-serialised), other text
/// unchanged.
fn canon_json(s: &str) -> String {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ Value::Object(_)) => v.to_string(),
        _ => s.to_string(),
    }
}

/// Remove what may legitimately differ between a request and its reading
/// back: argument and JSON-result formatting, result names that the target
/// fills from the call, and JSON schemas beyond their shape.
fn normalize(mut r: ChatRequest) -> ChatRequest {
    let mut names: Vec<(String, String)> = vec![];
    for m in &mut r.messages {
        for p in &mut m.content {
            match p {
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    names.push((id.clone(), name.clone()));
                    *arguments = canon_json(arguments);
                }
                Part::ToolResult {
                    tool_call_id,
                    name,
                    content,
                    ..
                } => {
                    if name.is_none() {
                        *name = names
                            .iter()
                            .rev()
                            .find(|(i, _)| i == tool_call_id)
                            .map(|(_, n)| n.clone());
                    }
                    for c in content {
                        if let Part::Text { text } = c {
                            *text = canon_json(text);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for t in &mut r.tools {
        t.parameters = schema_shape(&t.parameters);
    }
    if let Some(ResponseFormat::JsonSchema { schema, .. }) = &mut r.response_format {
        *schema = schema_shape(schema);
    }
    r
}

/// What the provider body must read back as, from the canonical request it
/// was made from, following the target module's mapping table.
fn expected_after(provider: Dialect, sent: &ChatRequest) -> ChatRequest {
    let mut e = sent.clone();
    match provider {
        OpenAi => {
            // `Thinking`: not sent back in requests; `RedactedThinking`: dropped.
            for m in &mut e.messages {
                m.content.retain(|p| {
                    !matches!(p, Part::Thinking { .. } | Part::RedactedThinking { .. })
                });
            }
            // `top_k`: dropped.
            e.top_k = None;
            // `reasoning` -> `reasoning_effort`: a budget becomes the nearest effort.
            e.reasoning = sent
                .reasoning
                .as_ref()
                .and_then(Reasoning::effort)
                .map(|x| Reasoning {
                    effort: Some(x),
                    budget_tokens: None,
                });
        }
        Anthropic => {
            // Unsigned thinking is not sent; redacted thinking only in
            // assistant turns.
            for m in &mut e.messages {
                let assistant = m.role == Role::Assistant;
                m.content.retain(|p| match p {
                    Part::Thinking { signature, .. } => {
                        assistant && signature.as_deref().is_some_and(|s| !s.is_empty())
                    }
                    Part::RedactedThinking { .. } => assistant,
                    _ => true,
                });
            }
            // Thinking: 1024 <= budget < max_tokens; max_tokens required.
            let mut max_tokens = sent.max_tokens.unwrap_or(anthropic::DEFAULT_MAX_TOKENS);
            let mut budget = sent
                .reasoning
                .as_ref()
                .and_then(Reasoning::budget)
                .filter(|b| *b > 0 && !claude_refuses_thinking(sent))
                .map(|b| b.max(1024));
            if let Some(b) = budget
                && b >= max_tokens
            {
                if sent.max_tokens.is_none() {
                    max_tokens = b + anthropic::DEFAULT_MAX_TOKENS;
                } else {
                    budget = Some(max_tokens - 1).filter(|b| *b >= 1024);
                }
            }
            e.max_tokens = Some(max_tokens);
            e.reasoning = budget.map(|b| Reasoning {
                effort: None,
                budget_tokens: Some(b),
            });
            if budget.is_some() {
                // With thinking on, Anthropic rejects these.
                e.temperature = sent.temperature.filter(|t| *t == 1.0);
                e.top_p = sent.top_p.filter(|p| *p >= 0.95);
                e.top_k = None;
            }
            // `response_format` becomes a system instruction (checked apart).
            e.response_format = None;
            e.presence_penalty = None;
            e.frequency_penalty = None;
            e.seed = None;
            if e.tools.is_empty() {
                e.tool_choice = None;
                e.parallel_tool_calls = None;
            } else {
                match (&sent.tool_choice, sent.parallel_tool_calls) {
                    (Some(ToolChoice::None), _) | (None, Some(true) | None) => {
                        e.parallel_tool_calls = None;
                    }
                    (None, Some(false)) => e.tool_choice = Some(ToolChoice::Auto),
                    (Some(_), _) => {}
                }
            }
        }
        Gemini => {
            for m in &mut e.messages {
                m.content
                    .retain(|p| !matches!(p, Part::RedactedThinking { .. }));
            }
            e.parallel_tool_calls = None;
            e.user = None;
            if let Some(ResponseFormat::JsonSchema { name, strict, .. }) = &mut e.response_format {
                *name = "response".into();
                *strict = None;
            }
            e.reasoning = sent.reasoning.as_ref().map(|r| {
                let effort = r.effort.as_deref();
                if r.budget_tokens.is_none()
                    && sent.model.contains("gemini-3")
                    && matches!(effort, Some("low" | "high"))
                {
                    Reasoning {
                        effort: r.effort.clone(),
                        budget_tokens: None,
                    }
                } else if r.budget_tokens.is_none() && effort == Some("none") {
                    Reasoning {
                        effort: None,
                        budget_tokens: Some(0),
                    }
                } else {
                    Reasoning {
                        effort: None,
                        budget_tokens: r.budget(),
                    }
                }
            });
        }
        Bedrock => {
            // The model id and streaming are in the URL.
            e.model = String::new();
            e.stream = false;
            if e.tools.is_empty() || e.tool_choice == Some(ToolChoice::None) {
                e.tool_choice = None;
            }
            e.parallel_tool_calls = None;
            e.response_format = None;
            e.presence_penalty = None;
            e.frequency_penalty = None;
            e.seed = None;
            e.user = None;
            e.reasoning = sent
                .reasoning
                .as_ref()
                .and_then(Reasoning::budget)
                .filter(|_| !claude_refuses_thinking(sent))
                .map(|b| Reasoning {
                    effort: None,
                    budget_tokens: Some(b),
                });
            if e.reasoning.is_some() {
                // Claude on Bedrock rejects these with thinking on.
                e.temperature = sent.temperature.filter(|t| *t == 1.0);
                e.top_p = sent.top_p.filter(|p| *p >= 0.95);
                e.top_k = None;
            }
        }
    }
    e
}

/// Whether Claude (Anthropic, or Bedrock's Claude shape) must get the
/// request without thinking, as the two modules' mapping tables say: the
/// tool choice forces a tool, or the conversation ends in tool results whose
/// assistant turn does not open with signed (or redacted) reasoning.
fn claude_refuses_thinking(sent: &ChatRequest) -> bool {
    let forced = !sent.tools.is_empty()
        && matches!(
            sent.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Tool(_))
        );
    let Some(turn) = sent
        .messages
        .iter()
        .rposition(|m| m.role == Role::Assistant)
    else {
        return forced;
    };
    let in_tool_loop = sent.messages[turn + 1..]
        .iter()
        .flat_map(|m| &m.content)
        .any(|p| matches!(p, Part::ToolResult { .. }));
    let leads_with_reasoning = match sent.messages[turn].content.first() {
        Some(Part::Thinking {
            signature: Some(s), ..
        }) => !s.is_empty(),
        Some(Part::RedactedThinking { .. }) => true,
        _ => false,
    };
    forced || (in_tool_loop && !leads_with_reasoning)
}

/// The provider body reads back as the mapping table says: what survives
/// survives, what is dropped is absent.
fn check_request_round_trip(provider: Dialect, sent: &ChatRequest, body: &[u8]) {
    let ctx = provider.name();
    let back = decode_provider_request(provider, body, &sent.model, sent.stream)
        .unwrap_or_else(|e| panic!("{ctx}: the encoded body does not decode: {e}"));
    let mut want = expected_after(provider, sent);
    if provider == Anthropic {
        // `response_format` is an appended system instruction.
        let n = sent.system.len();
        assert_eq!(back.system[..n], sent.system[..], "{ctx}: system");
        match &sent.response_format {
            Some(ResponseFormat::JsonSchema { name, .. }) => {
                assert_eq!(back.system.len(), n + 1, "{ctx}: JSON instruction");
                let i = &back.system[n];
                assert!(
                    i.starts_with("Respond with a single valid JSON value")
                        && i.contains(&format!("named \"{name}\"")),
                    "{ctx}: JSON instruction: {i}"
                );
            }
            Some(ResponseFormat::JsonObject) => assert_eq!(back.system.len(), n + 1),
            _ => assert_eq!(back.system.len(), n),
        }
        want.system.clone_from(&back.system);
    }
    let (back, want) = (normalize(back), normalize(want));
    // Field by field first, for readable failures.
    assert_eq!(back.system, want.system, "{ctx}: system");
    let roles = |r: &ChatRequest| r.messages.iter().map(|m| m.role).collect::<Vec<_>>();
    assert_eq!(roles(&back), roles(&want), "{ctx}: message roles");
    for (i, (b, w)) in back.messages.iter().zip(&want.messages).enumerate() {
        assert_eq!(b, w, "{ctx}: messages[{i}]");
    }
    let names = |r: &ChatRequest| r.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&back), names(&want), "{ctx}: tool names");
    assert_eq!(back.tools, want.tools, "{ctx}: tools");
    assert_eq!(back.tool_choice, want.tool_choice, "{ctx}: tool_choice");
    assert_eq!(back.stop, want.stop, "{ctx}: stop sequences");
    assert_eq!(back.temperature, want.temperature, "{ctx}: temperature");
    assert_eq!(back.top_p, want.top_p, "{ctx}: top_p");
    assert_eq!(back.top_k, want.top_k, "{ctx}: top_k");
    assert_eq!(back.max_tokens, want.max_tokens, "{ctx}: max tokens");
    assert_eq!(back.reasoning, want.reasoning, "{ctx}: reasoning");
    assert_eq!(
        back.response_format, want.response_format,
        "{ctx}: response format"
    );
    assert_eq!(back, want, "{ctx}: whole request");
}

fn client_canonical(ingress: Dialect, stream: bool) -> ChatRequest {
    let body = client_request(ingress, stream);
    decode_client_request(ingress, body.as_bytes(), stream)
        .unwrap_or_else(|e| panic!("{} client request does not decode: {e}", ingress.name()))
}

/// The canonical request of each ingress, goldened once (not streamed).
fn canonical_case(ingress: Dialect) {
    let req = client_canonical(ingress, false);
    check_client_canonical(ingress, &req);
    assert!(!req.stream);
    // The streamed body differs only in the flag.
    let streamed = client_canonical(ingress, true);
    assert!(streamed.stream);
    assert_eq!(
        ChatRequest {
            stream: false,
            ..streamed
        },
        req
    );
    let text = serde_json::to_string_pretty(&req).unwrap() + "\n";
    assert_golden(&format!("canonical/{}-request.json", ingress.name()), &text);
}

/// Drop URL images (Bedrock can only take inline bytes).
fn without_url_images(req: &ChatRequest) -> ChatRequest {
    let mut r = req.clone();
    for m in &mut r.messages {
        m.content.retain(|p| {
            !matches!(
                p,
                Part::Image {
                    source: ImageSource::Url { url }
                } if !url.starts_with("data:")
            )
        });
    }
    r
}

#[derive(Serialize)]
struct RefusedRequest {
    /// The `ConvertError` for the request as the client sent it.
    error: ErrorView,
    /// The body once the URL image is removed.
    body_without_url_image: Box<serde_json::value::RawValue>,
}

#[derive(Serialize)]
struct ErrorView {
    path: String,
    message: String,
    display: String,
}

fn request_case(ingress: Dialect, provider: Dialect, stream: bool) {
    let mut req = client_canonical(ingress, stream);
    check_client_canonical(ingress, &req);
    // The gateway sends the routed model and the client's streaming choice.
    req.model = provider_model(provider).into();
    req.stream = stream;
    let golden = format!(
        "request/{}{}.json",
        pair_name(ingress, provider),
        if stream { "-stream" } else { "" }
    );
    if provider == Bedrock {
        let e = encode_provider_request(provider, &req).expect_err("URL images must be refused");
        assert_eq!(
            e.path, "messages[2].content[1]",
            "the URL image is at fault"
        );
        assert!(e.message.contains("base64"), "{e}");
        let stripped = without_url_images(&req);
        let body = encode_provider_request(provider, &stripped)
            .unwrap_or_else(|e| panic!("{golden}: {e}"));
        let doc = RefusedRequest {
            error: ErrorView {
                path: e.path.clone(),
                message: e.message.clone(),
                display: e.to_string(),
            },
            body_without_url_image: raw(&body),
        };
        assert_golden(&golden, &pretty_json(&serde_json::to_vec(&doc).unwrap()));
        check_request_round_trip(provider, &stripped, &body);
    } else {
        let body =
            encode_provider_request(provider, &req).unwrap_or_else(|e| panic!("{golden}: {e}"));
        assert_golden(&golden, &pretty_json(&body));
        check_request_round_trip(provider, &req, &body);
    }
}

// ===========================================================================
// Response path

/// The tool-call ids each provider's answer carries (Gemini sends none: the
/// decoder makes them up from the answer's `responseId`).
fn provider_call_ids(provider: Dialect) -> [&'static str; 2] {
    match provider {
        OpenAi => ["call_Wx7pQ2", "call_Tm4kR9"],
        Anthropic => ["toolu_01Wx7pQ2", "toolu_01Tm4kR9"],
        Gemini => ["call_1adbbc3a8307_0", "call_1adbbc3a8307_1"],
        Bedrock => ["tooluse_Wx7pQ2", "tooluse_Tm4kR9"],
    }
}

/// The canonical usage of each provider's answer.
fn provider_usage(provider: Dialect) -> TokenUsage {
    TokenUsage {
        input_tokens: 1250,
        output_tokens: 380,
        cached_tokens: 1000,
        // Only Anthropic and Bedrock report cache writes, only OpenAI and
        // Gemini reasoning tokens.
        cache_creation_tokens: if matches!(provider, Anthropic | Bedrock) {
            50
        } else {
            0
        },
        reasoning_tokens: if matches!(provider, OpenAi | Gemini) {
            120
        } else {
            0
        },
    }
}

/// Usage as dialect `d` can carry it: Anthropic and Bedrock have no
/// reasoning count; OpenAI and Gemini no cache-write count (those tokens
/// stay in the input total).
fn usage_seen_by(d: Dialect, u: TokenUsage) -> TokenUsage {
    TokenUsage {
        reasoning_tokens: if matches!(d, Anthropic | Bedrock) {
            0
        } else {
            u.reasoning_tokens
        },
        cache_creation_tokens: if matches!(d, OpenAi | Gemini) {
            0
        } else {
            u.cache_creation_tokens
        },
        ..u
    }
}

fn decode_client_response(ingress: Dialect, body: &[u8]) -> ChatResponse {
    match ingress {
        OpenAi => openai::decode_response(body),
        Anthropic => anthropic::decode_response(body),
        Gemini => gemini::decode_response(body),
        Bedrock => unreachable!(),
    }
    .unwrap_or_else(|e| panic!("{} client body does not decode: {e}", ingress.name()))
}

fn response_case(provider: Dialect, ingress: Dialect) {
    let ctx = pair_name(provider, ingress);
    let mut resp = decode_provider_response(provider, provider_response(provider).as_bytes())
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));

    // The provider answer reads as written.
    assert_eq!(texts(&resp.content), ANSWER_TEXT, "{ctx}: text");
    assert_eq!(
        thinking_text(&resp.content),
        "The user wants two independent facts; call both tools in parallel.",
        "{ctx}: thinking"
    );
    let provider_sigs = signatures(&resp.content);
    assert_eq!(
        provider_sigs.len(),
        usize::from(provider != OpenAi),
        "{ctx}: signatures {provider_sigs:?}"
    );
    let ids = provider_call_ids(provider);
    let want_calls = vec![
        (
            ids[0].to_string(),
            "get_weather".to_string(),
            weather_args(),
        ),
        (ids[1].to_string(), "get_time".to_string(), time_args()),
    ];
    assert_eq!(calls(&resp.content), want_calls, "{ctx}: calls");
    assert_eq!(resp.stop_reason, StopReason::ToolCalls, "{ctx}: stop");
    assert_eq!(resp.usage, provider_usage(provider), "{ctx}: usage");

    fill(&mut resp.id, &mut resp.model, &mut resp.created, provider);
    let body = encode_client_response(ingress, &resp);
    assert_golden(&format!("response/{ctx}.json"), &pretty_json(&body));

    // The client body carries everything its dialect can.
    let back = decode_client_response(ingress, &body);
    assert_eq!(texts(&back.content), ANSWER_TEXT, "{ctx}: client text");
    assert_eq!(
        thinking_text(&back.content),
        thinking_text(&resp.content),
        "{ctx}: client thinking"
    );
    if ingress != OpenAi {
        // Anthropic and Gemini clients get signatures back unchanged.
        assert_eq!(
            signatures(&back.content),
            provider_sigs,
            "{ctx}: signatures"
        );
    }
    assert_eq!(calls(&back.content), want_calls, "{ctx}: client calls");
    assert_eq!(
        back.stop_reason,
        StopReason::ToolCalls,
        "{ctx}: client stop"
    );
    assert_eq!(
        back.usage,
        usage_seen_by(ingress, resp.usage),
        "{ctx}: client usage"
    );
    assert_eq!(back.id, resp.id, "{ctx}: id");
    assert_eq!(back.model, resp.model, "{ctx}: model");
    // Anthropic answers carry no timestamp; Gemini ones only on Vertex
    // (`createTime`, which the encoder writes).
    let created = if ingress == Anthropic {
        0
    } else {
        resp.created
    };
    assert_eq!(back.created, created, "{ctx}: created");
}

// ===========================================================================
// Stream path

/// The provider's stream bytes, made by its own encoder from the script.
fn upstream_bytes(provider: Dialect) -> Vec<u8> {
    encode_stream(provider, &stream_script())
}

/// The script as a complete answer, as `provider` can carry it.
fn script_seen_through(provider: Dialect) -> ChatResponse {
    let mut want = collect(&stream_script());
    match provider {
        // Converse streams carry no id, model or timestamp.
        Bedrock => {
            want.id.clear();
            want.model.clear();
            want.created = 0;
        }
        // Anthropic streams carry no timestamp.
        Anthropic => want.created = 0,
        _ => {}
    }
    if provider == OpenAi {
        // Chat chunks carry reasoning text but no signature.
        for p in &mut want.content {
            if let Part::Thinking { signature, .. } = p {
                *signature = None;
            }
        }
    }
    want.usage = usage_seen_by(provider, want.usage);
    want
}

/// One provider's upstream stream: goldened (but for Bedrock's binary
/// frames, of which a readable dump is goldened), decoded the same in every
/// chunking, and decoded to the script's content.
fn upstream_case(provider: Dialect) {
    let bytes = upstream_bytes(provider);
    let name = provider.name();
    if provider == Bedrock {
        assert_golden(
            &format!("stream/{name}-upstream.frames.txt"),
            &frame_dump(&bytes),
        );
    } else {
        let text = String::from_utf8(bytes.clone()).expect("SSE is UTF-8");
        assert_golden(&format!("stream/{name}-upstream.txt"), &text);
    }
    let events = decode_stream_all_chunkings(provider, &bytes);
    let text = serde_json::to_string_pretty(&events).unwrap() + "\n";
    assert_golden(&format!("stream/{name}-events.json"), &text);
    // Gemini sends whole argument objects, re-serialised: compare them parsed.
    let canon_args = |mut r: ChatResponse| {
        for p in &mut r.content {
            if let Part::ToolCall { arguments, .. } = p {
                *arguments = canon_json(arguments);
            }
        }
        r
    };
    assert_eq!(
        canon_args(collect(&events)),
        canon_args(script_seen_through(provider)),
        "{name}: the decoded stream holds the script's answer"
    );
}

/// Bedrock event-stream frames as text: headers, then the JSON payload.
fn frame_dump(bytes: &[u8]) -> String {
    use switchyard_protocol::bedrock::eventstream::{FrameDecoder, HeaderValue};
    let mut d = FrameDecoder::new();
    d.push(bytes);
    let mut out = String::new();
    while let Some(f) = d.next_frame().expect("valid frames") {
        let headers: Vec<String> = f
            .headers
            .iter()
            .map(|(n, v)| match v {
                HeaderValue::String(s) => format!("{n}={s}"),
                other => format!("{n}={other:?}"),
            })
            .collect();
        out.push_str(&headers.join(" "));
        out.push('\n');
        out.push_str(std::str::from_utf8(&f.payload).expect("UTF-8 payload"));
        out.push_str("\n\n");
    }
    assert_eq!(d.buffered(), 0, "trailing bytes");
    out
}

fn stream_case(provider: Dialect, ingress: Dialect) {
    let ctx = pair_name(provider, ingress);
    let mut events = decode_stream_all_chunkings(provider, &upstream_bytes(provider));
    fill_events(&mut events, provider);
    let client = encode_stream(ingress, &events);
    let text = String::from_utf8(client.clone()).expect("client streams are text");
    assert_golden(&format!("stream/{ctx}.txt"), &text);

    // The client stream decodes back to the script's content.
    let back = collect(&decode_stream_all_chunkings(ingress, &client));
    assert_eq!(texts(&back.content), SCRIPT_TEXT, "{ctx}: text");
    assert_eq!(
        thinking_text(&back.content),
        SCRIPT_THINKING,
        "{ctx}: thinking"
    );
    let sig_carried = provider != OpenAi && ingress != OpenAi;
    assert_eq!(
        signatures(&back.content),
        if sig_carried {
            vec![SCRIPT_SIGNATURE.to_string()]
        } else {
            vec![]
        },
        "{ctx}: signature"
    );
    let want_calls: Vec<(String, String, Value)> = SCRIPT_CALLS
        .iter()
        .map(|(id, name, fragments)| {
            (
                (*id).to_string(),
                (*name).to_string(),
                serde_json::from_str(&fragments.concat()).unwrap(),
            )
        })
        .collect();
    assert_eq!(calls(&back.content), want_calls, "{ctx}: tool calls");
    assert_eq!(back.stop_reason, StopReason::ToolCalls, "{ctx}: stop");
    assert_eq!(
        (back.usage.input_tokens, back.usage.output_tokens),
        (FINAL_USAGE.input_tokens, FINAL_USAGE.output_tokens),
        "{ctx}: input/output tokens"
    );
    let want_usage = usage_seen_by(ingress, usage_seen_by(provider, FINAL_USAGE));
    assert_eq!(back.usage, want_usage, "{ctx}: usage");
    // The id and model reach the client (filled by the gateway when the
    // provider has none).
    let (id, model) = if provider == Bedrock {
        (FILL_ID, provider_model(provider))
    } else {
        (SCRIPT_ID, SCRIPT_MODEL)
    };
    assert_eq!(
        (back.id.as_str(), back.model.as_str()),
        (id, model),
        "{ctx}: id/model"
    );
}

// ===========================================================================
// Error path

#[derive(Serialize)]
struct ErrorCase {
    status: u16,
    /// The provider's body.
    upstream: Box<serde_json::value::RawValue>,
    /// `decode_error` of it.
    canonical: StreamError,
    /// `encode_error` in the client's dialect (sent with the same status).
    client: Box<serde_json::value::RawValue>,
    /// The same error met inside a stream, as the client's stream encoder
    /// writes it.
    client_stream_event: String,
}

/// The canonical kind each case must have.
fn expected_kind(status: u16) -> &'static str {
    match status {
        401 | 403 => "authentication_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

fn decode_client_error(ingress: Dialect, status: u16, body: &[u8]) -> StreamError {
    match ingress {
        OpenAi => openai::decode_error(status, body),
        Anthropic => anthropic::decode_error(status, body),
        Gemini => gemini::decode_error(status, body),
        Bedrock => unreachable!(),
    }
}

fn error_case(provider: Dialect, ingress: Dialect) {
    let ctx = pair_name(provider, ingress);
    let mut cases = vec![];
    for (status, body) in provider_errors(provider) {
        let err = decode_error(provider, status, body.as_bytes());
        assert_eq!(err.status, Some(status), "{ctx} {status}: status");
        assert!(!err.message.is_empty(), "{ctx} {status}: message");
        let client = encode_client_error(ingress, status, &err);
        // The client reads back the same message.
        let back = decode_client_error(ingress, status, &client);
        assert_eq!(back.message, err.message, "{ctx} {status}: message");
        assert_eq!(back.status, Some(status), "{ctx} {status}: client status");
        let mut stream = vec![];
        let mut enc = stream_encoder(ingress);
        enc.encode(&StreamEvent::Error { error: err.clone() }, &mut stream);
        enc.finish(&mut stream);
        cases.push(ErrorCase {
            status,
            upstream: raw(body.as_bytes()),
            canonical: err,
            client: raw(&client),
            client_stream_event: String::from_utf8(stream).unwrap(),
        });
    }
    assert_golden(
        &format!("error/{ctx}.json"),
        &pretty_json(&serde_json::to_vec(&cases).unwrap()),
    );
    for c in &cases {
        let status = c.status;
        // Every provider's error maps to the canonical kind of its status
        // (OpenAI's `type` is only kept for statuses that do not say it all).
        assert_eq!(
            c.canonical.kind,
            expected_kind(status),
            "{ctx} {status}: canonical kind"
        );
        // What the client sees is the right kind for the status (a Google
        // status is derived from the HTTP status first: 403 is
        // PERMISSION_DENIED there).
        let seen = decode_client_error(ingress, status, c.client.get().as_bytes()).kind;
        let want = match (ingress, status) {
            // OpenAI clients get OpenAI-style `type`s (see the goldens).
            (OpenAi, _) => {
                // The body and the stream event say the same.
                let body: Value = serde_json::from_str(c.client.get()).unwrap();
                let event: Value = serde_json::from_str(
                    c.client_stream_event
                        .strip_prefix("data: ")
                        .and_then(|e| e.split("\n\n").next())
                        .unwrap(),
                )
                .unwrap();
                assert_eq!(
                    event["error"]["type"], body["error"]["type"],
                    "{ctx} {status}: body and stream event types"
                );
                continue;
            }
            (Gemini, 403) => "permission_error",
            _ => expected_kind(status),
        };
        assert_eq!(seen, want, "{ctx} {status}: kind seen by the client");
    }
}

// ===========================================================================
// The cases

#[test]
fn canonical_openai() {
    canonical_case(OpenAi);
}

#[test]
fn canonical_anthropic() {
    canonical_case(Anthropic);
}

#[test]
fn canonical_gemini() {
    canonical_case(Gemini);
}

#[test]
fn upstream_openai() {
    upstream_case(OpenAi);
}

#[test]
fn upstream_anthropic() {
    upstream_case(Anthropic);
}

#[test]
fn upstream_gemini() {
    upstream_case(Gemini);
}

#[test]
fn upstream_bedrock() {
    upstream_case(Bedrock);
}

/// One test per (ingress, provider) pair and path.
macro_rules! pair_tests {
    ($($name:ident: $ingress:expr => $provider:expr;)*) => {
        mod request {
            use super::*;
            $( #[test] fn $name() { request_case($ingress, $provider, false) } )*
        }
        mod request_stream {
            use super::*;
            $( #[test] fn $name() { request_case($ingress, $provider, true) } )*
        }
        mod response {
            use super::*;
            $( #[test] fn $name() { response_case($provider, $ingress) } )*
        }
        mod stream {
            use super::*;
            $( #[test] fn $name() { stream_case($provider, $ingress) } )*
        }
        mod error {
            use super::*;
            $( #[test] fn $name() { error_case($provider, $ingress) } )*
        }
        /// Every file under `golden/` is one the suite writes (no orphans
        /// left behind by a renamed case), and every case has its file.
        #[test]
        fn golden_files_match_the_cases() {
            if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
                return;
            }
            let mut want: Vec<String> = vec!["REVIEW.md".into()];
            for i in INGRESS {
                want.push(format!("canonical/{}-request.json", i.name()));
            }
            for p in PROVIDERS {
                want.push(format!("stream/{}-events.json", p.name()));
                want.push(if p == Bedrock {
                    format!("stream/{}-upstream.frames.txt", p.name())
                } else {
                    format!("stream/{}-upstream.txt", p.name())
                });
            }
            $(
                let (i, p) = ($ingress, $provider);
                want.push(format!("request/{}.json", pair_name(i, p)));
                want.push(format!("request/{}-stream.json", pair_name(i, p)));
                want.push(format!("response/{}.json", pair_name(p, i)));
                want.push(format!("stream/{}.txt", pair_name(p, i)));
                want.push(format!("error/{}.json", pair_name(p, i)));
            )*
            want.sort();
            let mut have = vec![];
            let root = golden_root();
            let mut dirs = vec![root.clone()];
            while let Some(d) = dirs.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        // The Responses suite checks its own directory.
                        if path != root.join("responses") {
                            dirs.push(path);
                        }
                    } else if path.extension().is_none_or(|x| x != "new") {
                        let rel = path.strip_prefix(&root).unwrap();
                        have.push(rel.to_string_lossy().replace('\\', "/"));
                    }
                }
            }
            have.sort();
            assert_eq!(have, want);
        }
    };
}

pair_tests! {
    openai_client_openai_provider: OpenAi => OpenAi;
    openai_client_anthropic_provider: OpenAi => Anthropic;
    openai_client_gemini_provider: OpenAi => Gemini;
    openai_client_bedrock_provider: OpenAi => Bedrock;
    anthropic_client_openai_provider: Anthropic => OpenAi;
    anthropic_client_anthropic_provider: Anthropic => Anthropic;
    anthropic_client_gemini_provider: Anthropic => Gemini;
    anthropic_client_bedrock_provider: Anthropic => Bedrock;
    gemini_client_openai_provider: Gemini => OpenAi;
    gemini_client_anthropic_provider: Gemini => Anthropic;
    gemini_client_gemini_provider: Gemini => Gemini;
    gemini_client_bedrock_provider: Gemini => Bedrock;
}

// ===========================================================================
// Converter bugs found by this suite, kept as regression tests now that
// they are fixed (each comment says what the bug was and what the fix is).

mod bugs {
    use super::*;

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    /// A client's canonical request (not streamed), routed to `provider`.
    fn routed(ingress: Dialect, provider: Dialect) -> ChatRequest {
        let mut req = client_canonical(ingress, false);
        req.model = provider_model(provider).into();
        req
    }

    // Was a BUG: anthropic::encode_request turned on extended thinking
    // together with a forced tool choice. Anthropic rejects that combination
    // ("Thinking may not be enabled when tool_choice forces tool use"); only
    // `auto` and `none` are allowed with thinking. Input: the OpenAI client
    // request (`reasoning_effort: "low"`, `tool_choice: {"type":"function",
    // "function":{"name":"get_weather"}}`). Output was
    // `"thinking":{"type":"enabled","budget_tokens":2048}` with
    // `"tool_choice":{"type":"tool","name":"get_weather",...}`. Fix: the
    // client's explicit tool choice wins and thinking is left off (the
    // sampling fields thinking forbids are then sent as they are).
    #[test]
    fn anthropic_thinking_with_forced_tool_choice() {
        let body = json_of(&anthropic::encode_request(&routed(OpenAi, Anthropic)).unwrap());
        let forced = matches!(body["tool_choice"]["type"].as_str(), Some("any" | "tool"));
        assert!(forced, "the tool choice is kept: {}", body["tool_choice"]);
        assert!(
            !(forced && body.get("thinking").is_some()),
            "thinking {} with tool_choice {}",
            body["thinking"],
            body["tool_choice"]
        );
        assert_eq!(body["temperature"], 0.7, "sampling kept without thinking");
    }

    // Was a BUG: anthropic::encode_request turned on thinking while the
    // conversation is inside a tool loop whose assistant turn has no (signed)
    // thinking block, as is always the case for OpenAI-style clients, which
    // never see signatures. Anthropic answers 400 "Expected `thinking` or
    // `redacted_thinking`, but found `text`. When `thinking` is enabled, a
    // final `assistant` message must start with a thinking block". Input: the
    // OpenAI client request without its tool_choice (so as not to hit the
    // bug above). Output was `"thinking":{"type":"enabled",...}` with
    // `messages[3].content[0]` a `text` block. Fix: thinking is left off for
    // such a request; it stays on when the turn opens with signed thinking
    // (the Anthropic client's own history).
    #[test]
    fn anthropic_thinking_mid_tool_loop_without_thinking_block() {
        let is_thinking =
            |b: &Value| matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking"));
        let mut req = routed(OpenAi, Anthropic);
        req.tool_choice = None;
        let body = json_of(&anthropic::encode_request(&req).unwrap());
        assert_thinking_block_leads_tool_loop(&body, "messages", "content", is_thinking);
        assert!(body.get("thinking").is_none(), "{}", body["thinking"]);

        let mut req = routed(Anthropic, Anthropic);
        req.tool_choice = None;
        let body = json_of(&anthropic::encode_request(&req).unwrap());
        assert!(
            body.get("thinking").is_some(),
            "signed history: thinking on"
        );
        assert_thinking_block_leads_tool_loop(&body, "messages", "content", is_thinking);
    }

    /// With thinking on and the request ending in tool results, the last
    /// assistant message must open with a reasoning block.
    fn assert_thinking_block_leads_tool_loop(
        body: &Value,
        messages: &str,
        content: &str,
        is_reasoning: impl Fn(&Value) -> bool,
    ) {
        let thinking = body.get("thinking").is_some()
            || body["additionalModelRequestFields"]
                .get("thinking")
                .is_some();
        if !thinking {
            return;
        }
        let msgs = body[messages].as_array().unwrap();
        let last_assistant = msgs
            .iter()
            .rev()
            .find(|m| m["role"] == "assistant")
            .unwrap();
        let first = &last_assistant[content][0];
        assert!(
            is_reasoning(first),
            "thinking is on but the tool-use turn starts with {first}"
        );
    }

    // Was a BUG: bedrock::encode_request wrote Claude's `thinking` field
    // (`additionalModelRequestFields.thinking`) without the constraints
    // Claude puts on it, which anthropic::encode_request does apply: with
    // thinking on, `temperature` must be 1 (or unset), `top_p` >= 0.95,
    // `top_k` unset, and `toolChoice` `auto` (or unset). Input: the Gemini
    // client request (temperature 0.7, topP 0.9, topK 40, thinkingBudget 2048,
    // mode ANY + allowedFunctionNames [get_weather]) routed to Bedrock (URL
    // image removed). Output was `inferenceConfig.temperature: 0.7`,
    // `topP: 0.9`, `additionalModelRequestFields: {top_k: 40, thinking:
    // {type: enabled, budget_tokens: 2048}}`, `toolChoice: {tool: {name:
    // get_weather}}`: a ValidationException on every Claude model. Fix, as
    // in the Anthropic encoder: the forced tool wins and thinking is left
    // off (sampling then sent as is); with a choice that allows thinking,
    // the sampling Claude refuses is dropped.
    #[test]
    fn bedrock_thinking_with_forbidden_sampling_and_tool_choice() {
        let req = without_url_images(&routed(Gemini, Bedrock));
        let body = json_of(&switchyard_protocol::bedrock::encode_request(&req).unwrap());
        assert_claude_thinking_constraints(&body);
        assert!(
            body["additionalModelRequestFields"]
                .get("thinking")
                .is_none(),
            "forced tool: thinking off"
        );
        assert_eq!(body["inferenceConfig"]["temperature"], 0.7);
        assert_eq!(body["additionalModelRequestFields"]["top_k"], 40);

        // The choice left to the model: thinking on (the Gemini history opens
        // its tool-use turn with signed reasoning), sampling dropped.
        let mut req = req;
        req.tool_choice = Some(ToolChoice::Auto);
        let body = json_of(&switchyard_protocol::bedrock::encode_request(&req).unwrap());
        assert!(
            body["additionalModelRequestFields"]
                .get("thinking")
                .is_some(),
            "thinking is on"
        );
        assert_claude_thinking_constraints(&body);
    }

    /// With Claude's thinking on in a Converse body, nothing Claude refuses
    /// along with it.
    fn assert_claude_thinking_constraints(body: &Value) {
        let extra = &body["additionalModelRequestFields"];
        if extra.get("thinking").is_none() {
            return;
        }
        let inf = &body["inferenceConfig"];
        let problems: Vec<String> = [
            inf["temperature"]
                .as_f64()
                .filter(|t| *t != 1.0)
                .map(|t| format!("temperature {t}")),
            inf["topP"]
                .as_f64()
                .filter(|p| *p < 0.95)
                .map(|p| format!("topP {p}")),
            extra.get("top_k").map(|k| format!("top_k {k}")),
            body["toolConfig"]["toolChoice"]
                .as_object()
                .filter(|c| c.contains_key("any") || c.contains_key("tool"))
                .map(|c| format!("toolChoice {c:?}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(problems.is_empty(), "with thinking on: {problems:?}");
    }

    // Was a BUG: the same tool-loop rule as above, on Bedrock: thinking was
    // turned on although the trailing assistant tool-use turn has no
    // reasoningContent block (OpenAI client). Claude on Bedrock rejects it
    // with the same "a final `assistant` message must start with a thinking
    // block" error. Fix: thinking left off for such a request; it stays on
    // when the turn opens with signed reasoning (Anthropic client history).
    #[test]
    fn bedrock_thinking_mid_tool_loop_without_reasoning_block() {
        let is_reasoning = |b: &Value| b.get("reasoningContent").is_some();
        let mut req = without_url_images(&routed(OpenAi, Bedrock));
        req.tool_choice = None;
        req.temperature = None;
        req.top_p = None;
        let body = json_of(&switchyard_protocol::bedrock::encode_request(&req).unwrap());
        assert_thinking_block_leads_tool_loop(&body, "messages", "content", is_reasoning);
        assert!(
            body["additionalModelRequestFields"]
                .get("thinking")
                .is_none()
        );

        let mut req = without_url_images(&routed(Anthropic, Bedrock));
        req.tool_choice = None;
        let body = json_of(&switchyard_protocol::bedrock::encode_request(&req).unwrap());
        assert!(
            body["additionalModelRequestFields"]
                .get("thinking")
                .is_some(),
            "signed history: thinking on"
        );
        assert_thinking_block_leads_tool_loop(&body, "messages", "content", is_reasoning);
    }

    // Was a BUG: openai::decode_error took OpenAI's `error.type` verbatim as
    // the canonical kind. OpenAI labels a bad API key (HTTP 401)
    // `invalid_request_error`, which is also an Anthropic kind, so a Claude
    // client got HTTP 401 with `{"type":"error","error":{"type":
    // "invalid_request_error",...}}` instead of `authentication_error`.
    // Input: `401 {"error":{"message":"Incorrect API key provided: ...",
    // "type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`.
    // Fix: the kind comes from the status for 401, 403, 404, 413, 429, 5xx.
    #[test]
    fn openai_401_reaches_claude_clients_as_invalid_request() {
        let (status, body) = provider_errors(OpenAi)[0];
        assert_eq!(status, 401);
        let err = openai::decode_error(status, body.as_bytes());
        let client = json_of(&anthropic::encode_error(status, &err));
        assert_eq!(client["error"]["type"], "authentication_error", "{client}");
    }

    // Was a BUG: ids made up for Gemini's id-less function calls restarted at
    // `call_0` in every answer (gemini::decode_response and the Gemini
    // StreamDecoder), so a conversation with a Gemini provider repeated tool
    // call ids from one turn to the next. Anthropic rejects such a history
    // ("`tool_use` ids must be unique") and Claude Code pairs results with
    // calls by id. Input: two different Gemini answers, each with one id-less
    // `functionCall`. Output was `call_0` for both. Fix: `call_<h>_<n>`, h a
    // hash of the `responseId` (deterministic, different per answer).
    #[test]
    fn gemini_generated_call_ids_repeat_across_answers() {
        let answer = |response_id: &str, city: &str| {
            let body = json!({
                "candidates": [{"content": {"role": "model", "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": city}}}
                ]}, "finishReason": "STOP", "index": 0}],
                "responseId": response_id,
                "modelVersion": "gemini-2.5-flash"
            });
            let r = gemini::decode_response(body.to_string().as_bytes()).unwrap();
            calls(&r.content)[0].0.clone()
        };
        let first = answer("resp-turn-1", "Paris");
        let second = answer("resp-turn-2", "Tokyo");
        assert_ne!(first, second, "two answers gave their calls the same id");
    }
}
