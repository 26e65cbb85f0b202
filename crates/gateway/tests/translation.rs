//! Clients of one dialect reaching providers of another, through the
//! emulator's native wire formats, streamed and not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::*;
use serde_json::{Value, json};

fn providers(emu: SocketAddr) -> String {
    format!(
        r#"
providers:
  - {{ id: oai, type: openai, baseUrl: "http://{emu}", apiTokens: ["sk-oai-000000001"] }}
  - {{ id: claude, type: claude, baseUrl: "http://{emu}", apiTokens: ["sk-ant-000000001"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{emu}", apiTokens: ["gm-key-000000001"] }}
  - {{ id: rock, type: bedrock, baseUrl: "http://{emu}", awsRegion: us-east-1, apiTokens: ["br-key-000000001"] }}
routes:
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: bedrock, models: ["anthropic.*", "amazon.*"], provider: rock }}
  - {{ name: openai, models: ["gpt-*"], provider: oai }}
"#
    )
}

const MODELS: [(&str, &str); 4] = [
    ("gpt-4o-mini", "oai"),
    ("claude-sonnet-4-5", "claude"),
    ("gemini-2.5-flash", "gem"),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "rock"),
];

fn weather_tool_openai() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
}

#[tokio::test]
async fn openai_client_reaches_every_dialect() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    for (model, provider) in MODELS {
        let r = post(gw.addr, "/v1/chat/completions", chat(model)).await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert_eq!(r.header("x-switchyard-provider"), Some(provider));
        let j = r.json();
        assert_eq!(j["object"], "chat.completion", "{model}: {j}");
        assert!(j["id"].as_str().unwrap().len() > 4);
        assert!(j["created"].as_u64().unwrap() > 1_700_000_000);
        assert_eq!(j["model"], model);
        let text = j["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(
            text.contains("Hello there") || text.contains("emulator"),
            "{model}: {text}"
        );
        assert!(
            j["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
            "{model}: {j}"
        );
        assert!(
            j["usage"]["completion_tokens"].as_u64().unwrap() > 0,
            "{model}: {j}"
        );

        let r = post(gw.addr, "/v1/chat/completions", chat_stream(model)).await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("text/event-stream"));
        let data = sse_data(&r.body);
        assert_eq!(
            data.last().map(String::as_str),
            Some("[DONE]"),
            "{model}: {data:?}"
        );
        let mut text = String::new();
        let mut finish = None;
        let mut ids = std::collections::HashSet::new();
        for d in &data[..data.len() - 1] {
            let c: Value = serde_json::from_str(d).unwrap();
            assert_eq!(c["object"], "chat.completion.chunk", "{model}: {d}");
            assert!(
                !c["choices"].as_array().unwrap().is_empty(),
                "no usage chunk unless asked: {d}"
            );
            ids.insert(c["id"].as_str().unwrap().to_string());
            if let Some(t) = c["choices"][0]["delta"]["content"].as_str() {
                text.push_str(t);
            }
            if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                finish = Some(f.to_string());
            }
        }
        assert_eq!(ids.len(), 1, "{model}: one id for the whole stream");
        assert!(!text.is_empty(), "{model}");
        assert_eq!(finish.as_deref(), Some("stop"), "{model}");
    }
}

#[tokio::test]
async fn openai_client_tool_round_trip_on_every_dialect() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    for (model, _) in MODELS {
        for stream in [false, true] {
            let body = json!({"model": model, "stream": stream, "tools": weather_tool_openai(),
                "messages": [{"role": "user", "content": "Weather in Paris?"}]});
            let r = post(gw.addr, "/v1/chat/completions", body).await;
            assert_eq!(r.status, 200, "{model}: {}", r.text());
            let (call_id, name, args) = if stream {
                let mut id = String::new();
                let mut name = String::new();
                let mut args = String::new();
                let mut finish = String::new();
                for d in sse_data(&r.body).iter().filter(|d| *d != "[DONE]") {
                    let c: Value = serde_json::from_str(d).unwrap();
                    if let Some(tc) = c["choices"][0]["delta"]["tool_calls"].get(0) {
                        assert_eq!(tc["index"], 0);
                        if let Some(i) = tc["id"].as_str() {
                            id = i.to_string();
                        }
                        if let Some(n) = tc["function"]["name"].as_str() {
                            name = n.to_string();
                        }
                        args.push_str(tc["function"]["arguments"].as_str().unwrap_or(""));
                    }
                    if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                        finish = f.to_string();
                    }
                }
                assert_eq!(finish, "tool_calls", "{model}");
                (id, name, args)
            } else {
                let j = r.json();
                assert_eq!(
                    j["choices"][0]["finish_reason"], "tool_calls",
                    "{model}: {j}"
                );
                let tc = &j["choices"][0]["message"]["tool_calls"][0];
                (
                    tc["id"].as_str().unwrap().to_string(),
                    tc["function"]["name"].as_str().unwrap().to_string(),
                    tc["function"]["arguments"].as_str().unwrap().to_string(),
                )
            };
            assert_eq!(name, "get_weather", "{model} stream={stream}");
            assert!(!call_id.is_empty(), "{model}");
            let parsed: Value =
                serde_json::from_str(&args).unwrap_or_else(|e| panic!("{model}: {args}: {e}"));
            assert!(parsed["city"].is_string(), "{model}: {parsed}");

            // Send the result back: the provider sees a tool result.
            let body = json!({"model": model, "stream": false, "tools": weather_tool_openai(), "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]},
                {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21C"}
            ]});
            let r = post(gw.addr, "/v1/chat/completions", body).await;
            assert_eq!(r.status, 200, "{model}: {}", r.text());
            let text = r.json()["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                text.contains("sunny, 21C"),
                "{model}: the tool result reached the provider: {text}"
            );
        }
    }
}

async fn anthropic_post(gw: SocketAddr, body: Value) -> Reply {
    let headers = [
        ("content-type", "application/json"),
        ("anthropic-version", "2023-06-01"),
        ("x-api-key", "client-key"),
    ];
    send(
        gw,
        "POST",
        "/v1/messages",
        serde_json::to_vec(&body).unwrap(),
        &headers,
    )
    .await
}

#[tokio::test]
async fn anthropic_client_reaches_every_dialect() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    for (model, provider) in MODELS {
        let body = json!({"model": model, "max_tokens": 200, "system": "Be brief.", "messages": [{"role": "user", "content": "Hello there"}]});
        let r = anthropic_post(gw.addr, body.clone()).await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert_eq!(r.header("x-switchyard-provider"), Some(provider));
        let j = r.json();
        assert_eq!(j["type"], "message", "{model}: {j}");
        assert_eq!(j["role"], "assistant");
        assert!(
            j["id"].as_str().unwrap().starts_with("msg_"),
            "{model}: {j}"
        );
        assert_eq!(j["content"][0]["type"], "text");
        assert_eq!(j["stop_reason"], "end_turn");
        assert!(j["usage"]["input_tokens"].as_u64().unwrap() > 0);
        assert!(j["usage"]["output_tokens"].as_u64().unwrap() > 0);

        let mut sbody = body;
        sbody["stream"] = json!(true);
        let r = anthropic_post(gw.addr, sbody).await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let text = String::from_utf8_lossy(&r.body).replace("\r\n", "\n");
        let events: Vec<(&str, Value)> = text
            .split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
                let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                (name, serde_json::from_str(data).unwrap())
            })
            .filter(|(n, _)| *n != "ping")
            .collect();
        let names: Vec<&str> = events.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.first(), Some(&"message_start"), "{model}: {names:?}");
        assert_eq!(
            names[names.len() - 2..],
            ["message_delta", "message_stop"],
            "{model}: {names:?}"
        );
        let mut open = None;
        for (n, v) in &events {
            match *n {
                "content_block_start" => {
                    assert!(open.is_none(), "{model}: block opened twice");
                    open = Some(v["index"].as_u64().unwrap());
                }
                "content_block_delta" => {
                    assert_eq!(Some(v["index"].as_u64().unwrap()), open, "{model}")
                }
                "content_block_stop" => {
                    assert_eq!(Some(v["index"].as_u64().unwrap()), open);
                    open = None;
                }
                "message_delta" => {
                    assert_eq!(v["delta"]["stop_reason"], "end_turn", "{model}: {v}");
                    assert!(
                        v["usage"]["output_tokens"].as_u64().unwrap() > 0,
                        "{model}: usage in message_delta: {v}"
                    );
                }
                "message_start" => {
                    assert!(v["message"]["id"].as_str().unwrap().starts_with("msg_"));
                    assert_eq!(v["message"]["model"], model);
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn gemini_client_reaches_openai_and_claude() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    for (model, provider) in [
        ("gpt-4o-mini", "oai"),
        ("claude-sonnet-4-5", "claude"),
        ("gemini-2.5-flash", "gem"),
    ] {
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello there"}]}], "generationConfig": {"maxOutputTokens": 100}});
        let r = post(
            gw.addr,
            &format!("/v1beta/models/{model}:generateContent"),
            body.clone(),
        )
        .await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert_eq!(r.header("x-switchyard-provider"), Some(provider));
        let j = r.json();
        assert!(
            j["candidates"][0]["content"]["parts"][0]["text"].is_string(),
            "{model}: {j}"
        );
        assert_eq!(j["candidates"][0]["finishReason"], "STOP");
        assert!(
            j["usageMetadata"]["promptTokenCount"].as_u64().unwrap() > 0,
            "{model}: {j}"
        );

        let r = post(
            gw.addr,
            &format!("/v1beta/models/{model}:streamGenerateContent?alt=sse"),
            body,
        )
        .await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let chunks = sse_data(&r.body);
        assert!(!chunks.is_empty());
        let last: Value = serde_json::from_str(chunks.last().unwrap()).unwrap();
        assert_eq!(
            last["candidates"][0]["finishReason"], "STOP",
            "{model}: {chunks:?}"
        );
    }
}

#[tokio::test]
async fn errors_speak_the_client_dialect() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    // Gateway-made: no route.
    let r = anthropic_post(gw.addr, json!({"model": "mistral-large", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})).await;
    assert_eq!(r.status, 404);
    let j = r.json();
    assert_eq!(j["type"], "error", "{j}");
    assert_eq!(j["error"]["type"], "not_found_error");
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mistral-large")
    );

    // Upstream-made: a Claude 401 reaches an OpenAI client in OpenAI's shape.
    let gw = gateway(&format!(
        "providers:\n  - {{ id: claude, type: claude, baseUrl: \"http://{}\", apiTokens: [\"bad-ant-0000001\"] }}\n",
        emu.addr
    ))
    .await;
    let r = post(gw.addr, "/v1/chat/completions", chat("claude-x")).await;
    assert_eq!(r.status, 401);
    let j = r.json();
    assert!(j["error"]["message"].is_string(), "{j}");
    assert!(j.get("type").is_none(), "not Anthropic's shape: {j}");
}

#[tokio::test]
async fn fallback_crosses_dialects() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: claude, type: claude, baseUrl: "http://{0}", apiTokens: ["down-ant-000001"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{0}", apiTokens: ["limited-g-00001"] }}
  - {{ id: oai, type: openai, baseUrl: "http://{0}", apiTokens: ["sk-oai-000000001"] }}
routes:
  - name: claude
    models: ["claude-*"]
    provider: claude
    fallback: {{ targets: [{{ provider: gem, model: gemini-2.5-flash }}, {{ provider: oai, model: gpt-4o-mini }}] }}
"#,
        emu.addr
    ))
    .await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": "Hello there"}]});
    let r = anthropic_post(gw.addr, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchyard-provider"), Some("oai"));
    assert_eq!(
        r.header("x-switchyard-fallback-from"),
        Some("claude/claude-sonnet-4-5")
    );
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        text.contains("event: message_start") && text.contains("\"model\":\"gpt-4o-mini\""),
        "{text}"
    );
    let models: Vec<_> = emu
        .emulator
        .requests()
        .into_iter()
        .filter_map(|r| r.model)
        .collect();
    assert_eq!(
        models,
        ["claude-sonnet-4-5", "gemini-2.5-flash", "gpt-4o-mini"]
    );
}

#[tokio::test]
async fn same_dialect_passes_through_with_model_mapping() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        "providers:\n  - {{ id: claude, type: claude, baseUrl: \"http://{}\", apiTokens: [\"sk-ant-000000001\"], modelMapping: {{ \"claude-latest\": \"claude-sonnet-4-5\" }} }}\n",
        emu.addr
    ))
    .await;
    let r = anthropic_post(gw.addr, json!({"model": "claude-latest", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["model"], "claude-sonnet-4-5");
    let seen = &emu.emulator.requests()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.auth_header.as_deref(), Some("x-api-key"));
    assert!(
        seen.headers
            .iter()
            .any(|(k, v)| k == "anthropic-version" && v == "2023-06-01")
    );
}

#[tokio::test]
async fn claude_clients_use_the_providers_own_anthropic_endpoint() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        "providers:\n  - {{ id: ds, type: deepseek, baseUrl: \"http://{}\", apiTokens: [\"sk-ds-000000001\"] }}\n",
        emu.addr
    ))
    .await;
    let r = anthropic_post(gw.addr, json!({"model": "deepseek-chat", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["type"], "message");
    assert_eq!(
        emu.emulator.requests()[0].path,
        "/anthropic/v1/messages",
        "no translation: the native endpoint"
    );
    // OpenAI clients still use the OpenAI-compatible one.
    emu.emulator.clear_requests();
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("deepseek-chat"))
            .await
            .status,
        200
    );
    assert_eq!(emu.emulator.requests()[0].path, "/v1/chat/completions");
}

#[tokio::test]
async fn protocol_original_forwards_the_body_untouched() {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let up = raw_upstream(move |mut s| {
        let tx = tx.clone();
        async move {
            use tokio::io::AsyncWriteExt;
            let req = read_request(&mut s).await;
            tx.send(req.body).await.unwrap();
            let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
            let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            s.write_all(resp.as_bytes()).await.unwrap();
        }
    })
    .await;
    let gw = gateway(&format!(
        "providers:\n  - {{ id: c, type: claude, baseUrl: \"http://{up}\", apiTokens: [\"sk-ant-000000001\"], protocol: original, modelMapping: {{ \"*\": \"other\" }} }}\n"
    ))
    .await;
    let sent = "{\"model\" : \"claude-x\",  \"max_tokens\": 5, \"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}";
    let r = send(
        gw.addr,
        "POST",
        "/v1/messages",
        sent,
        &[
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(rx.recv().await.unwrap(), sent.as_bytes());
}

#[tokio::test]
async fn vertex_service_account_token_is_exchanged_once_and_used() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let key_json = include_str!("../../providers/tests/data/test-service-account.json");
    let account = switchyard_providers::vertex_auth::ServiceAccount::from_json(key_json).unwrap();
    let public_key = account.public_key_der();
    let exchanges = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = exchanges.clone();
    let token_endpoint = raw_upstream(move |mut s| {
        let public_key = public_key.clone();
        let seen = seen.clone();
        async move {
            use tokio::io::AsyncWriteExt;
            let req = read_request(&mut s).await;
            let form = String::from_utf8(req.body).unwrap();
            let jwt = form.split("assertion=").nth(1).unwrap();
            let parts: Vec<&str> = jwt.split('.').collect();
            let pk = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public_key);
            let ok = pk
                .verify(
                    format!("{}.{}", parts[0], parts[1]).as_bytes(),
                    &switchyard_providers::vertex_auth::b64url_decode(parts[2]).unwrap(),
                )
                .is_ok()
                && form.starts_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&");
            seen.fetch_add(1, Ordering::SeqCst);
            let (status, body) = if ok {
                ("200 OK", r#"{"access_token":"ya29.test-token","expires_in":3599,"token_type":"Bearer"}"#)
            } else {
                ("400 Bad Request", r#"{"error":"invalid_grant"}"#)
            };
            let resp = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            s.write_all(resp.as_bytes()).await.unwrap();
        }
    })
    .await;
    let mut key: Value = serde_json::from_str(key_json).unwrap();
    key["token_uri"] = json!(format!("http://{token_endpoint}/token"));
    // SAFETY: set once, read only by this test's config.
    unsafe { std::env::set_var("SWITCHYARD_TEST_VERTEX_KEY", key.to_string()) };
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        "providers:\n  - {{ id: vx, type: vertex, baseUrl: \"http://{}\", vertexProjectId: p1, vertexRegion: us-central1, vertexAuthKey: \"${{SWITCHYARD_TEST_VERTEX_KEY}}\" }}\n",
        emu.addr
    ))
    .await;
    for _ in 0..3 {
        let r = post(gw.addr, "/v1/chat/completions", chat("gemini-2.5-pro")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(exchanges.load(Ordering::SeqCst), 1, "the token is cached");
    let reqs = emu.emulator.requests();
    assert_eq!(reqs.len(), 3);
    for r in reqs {
        assert_eq!(r.credential.as_deref(), Some("ya29.test-token"));
        assert_eq!(
            r.path,
            "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"
        );
    }
    let status = gw.status().await;
    let text = status.to_string();
    assert!(
        text.contains("switchyard-test@example.iam.gserviceaccount.com")
            && !text.contains("PRIVATE KEY"),
        "{text}"
    );
}

/// Without `alt=sse` a Gemini stream is one JSON array (see also
/// `surface.rs`, which checks that it arrives incrementally); errors keep
/// Google's shape.
#[tokio::test]
async fn gemini_streams_without_alt_sse_are_a_json_array() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]});
    let r = post(
        gw.addr,
        "/v1beta/models/gpt-4o-mini:streamGenerateContent",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let chunks = r.json();
    let chunks = chunks.as_array().unwrap();
    assert!(!chunks.is_empty());
    assert!(chunks.last().unwrap()["candidates"][0]["finishReason"].is_string());
    let r = post(gw.addr, "/v1beta/models/nope-1:streamGenerateContent", body).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let j = r.json();
    assert_eq!(
        j["error"]["status"], "NOT_FOUND",
        "Google's error shape: {j}"
    );
}
