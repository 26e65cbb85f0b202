//! Every error the gateway makes has the OpenAI shape and a precise status;
//! upstream errors pass through untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use tokio::io::AsyncWriteExt;

fn assert_openai_error(r: &Reply, status: u16, code: &str) -> String {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    let e = &j["error"];
    assert_eq!(e["code"], code, "{j}");
    assert!(e["type"].is_string() && e.get("param").is_some(), "{j}");
    e["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn bad_requests() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-test-00000001", "routes:\n  - { name: gpt, models: [\"gpt-*\"], provider: p }\nserver: { listen: \"127.0.0.1:0\", maxBodyBytes: 2048 }").await;
    let json = [("content-type", "application/json")];

    let m = assert_openai_error(
        &send(gw.addr, "POST", "/v1/chat/completions", "{not json", &json).await,
        400,
        "invalid_json",
    );
    assert!(m.contains("not a valid JSON"), "{m}");
    let m = assert_openai_error(
        &send(
            gw.addr,
            "POST",
            "/v1/chat/completions",
            r#"{"messages":[]}"#,
            &json,
        )
        .await,
        400,
        "missing_model",
    );
    assert!(m.contains("`model`"), "{m}");
    assert_openai_error(
        &send(
            gw.addr,
            "POST",
            "/v1/chat/completions",
            r#"{"model":"gpt-4o","stream":"yes"}"#,
            &json,
        )
        .await,
        400,
        "invalid_type",
    );

    let m = assert_openai_error(
        &post(gw.addr, "/v1/chat/completions", chat("claude-3")).await,
        404,
        "model_not_found",
    );
    assert!(
        m.contains("claude-3") && m.contains("gpt-*"),
        "the message lists what can be served: {m}"
    );

    let big = serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x".repeat(4096)}]});
    let m = assert_openai_error(
        &post(gw.addr, "/v1/chat/completions", big).await,
        413,
        "request_too_large",
    );
    assert!(m.contains("2048"), "{m}");

    // Without content-length (chunked): the limit still holds.
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n",
    )
    .await
    .unwrap();
    let chunk = "y".repeat(3000);
    s.write_all(format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()).as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut out),
    )
    .await;
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&out)
    );

    assert_openai_error(
        &send(gw.addr, "GET", "/v1/chat/completions", "", &[]).await,
        405,
        "method_not_allowed",
    );
    let m = assert_openai_error(
        &send(gw.addr, "POST", "/v2/whatever", "{}", &json).await,
        404,
        "unknown_url",
    );
    assert!(m.contains("/v1/chat/completions"), "{m}");
    assert_eq!(
        emu.emulator.requests().len(),
        0,
        "nothing bad reached the upstream"
    );
}

#[tokio::test]
async fn unreachable_upstream_is_502() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let gw = simple_gateway(dead, "sk-test-00000001", "").await;
    let m = assert_openai_error(
        &post(gw.addr, "/v1/chat/completions", chat("m")).await,
        502,
        "upstream_unreachable",
    );
    assert!(
        m.contains("provider `p`") && m.contains(&dead.to_string()),
        "{m}"
    );
    assert!(!m.contains("sk-test"), "no credential in errors: {m}");
}

#[tokio::test]
async fn silent_upstream_is_504_streaming_or_not() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        "providers:\n  - {{ id: p, type: openai, baseUrl: \"http://{}\", apiTokens: [\"hang-000000000001\"], firstByteTimeout: 200ms }}\n",
        emu.addr
    ))
    .await;
    for body in [chat("m"), chat_stream("m")] {
        let m = assert_openai_error(
            &post(gw.addr, "/v1/chat/completions", body).await,
            504,
            "upstream_timeout",
        );
        assert!(m.contains("200ms") && m.contains("firstByteTimeout"), "{m}");
    }
    let gw = gateway(&format!(
        "providers:\n  - {{ id: p, type: openai, baseUrl: \"http://{}\", apiTokens: [\"slow-1000-000000001\"], timeout: 150 }}\n",
        emu.addr
    ))
    .await;
    let m = assert_openai_error(
        &post(gw.addr, "/v1/chat/completions", chat("m")).await,
        504,
        "upstream_timeout",
    );
    assert!(m.contains("150ms"), "{m}");
}

#[tokio::test]
async fn upstream_errors_pass_through_untouched() {
    let emu = default_emulator().await;
    for (token, status) in [
        ("bad-000000000001", 401),
        ("limited-0000000001", 429),
        ("down-000000000001", 503),
    ] {
        let direct = send(
            emu.addr,
            "POST",
            "/v1/chat/completions",
            serde_json::to_vec(&chat("m")).unwrap(),
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {token}")),
            ],
        )
        .await;
        let gw = simple_gateway(emu.addr, token, "").await;
        let r = post(gw.addr, "/v1/chat/completions", chat("m")).await;
        assert_eq!(r.status, status);
        assert_eq!(r.body, direct.body, "body relayed byte for byte");
        if status == 429 {
            assert_eq!(r.header("retry-after"), Some("1"));
        }
    }
}

#[tokio::test]
async fn non_streaming_body_is_relayed_byte_for_byte() {
    const BODY: &str = "{ \"id\" : \"x\",\n  \"choices\": [], \"model\": \"m\", \"odd\": 1.0000 }";
    let up = raw_upstream(|mut s| async move {
        read_request(&mut s).await;
        let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-upstream: yes\r\ncontent-length: {}\r\n\r\n{BODY}", BODY.len());
        s.write_all(resp.as_bytes()).await.unwrap();
    })
    .await;
    let gw = simple_gateway(up, "sk-test-00000001", "").await;
    let r = post(gw.addr, "/v1/chat/completions", chat("m")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), BODY);
    assert_eq!(r.header("x-upstream"), Some("yes"));
    assert_eq!(r.header("x-switchyard-provider"), Some("p"));
}

#[tokio::test]
async fn health_endpoint() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-test-00000001", "").await;
    let r = send(gw.addr, "GET", "/health", "", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}

#[tokio::test]
async fn request_ids_are_kept_or_made_and_sent_upstream() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-test-00000001", "").await;
    // The client's id is kept, sent upstream, and the provider's own id
    // stays available.
    let body = serde_json::to_vec(&chat("m")).unwrap();
    let r = send(
        gw.addr,
        "POST",
        "/v1/chat/completions",
        body,
        &[
            ("content-type", "application/json"),
            ("x-request-id", "client-abc-123"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id"), Some("client-abc-123"));
    assert!(
        r.header("x-upstream-request-id")
            .is_some_and(|v| v.starts_with("req_")),
        "{:?}",
        r.headers
    );
    let seen = &emu.emulator.requests()[0];
    assert!(
        seen.headers
            .iter()
            .any(|(k, v)| k == "x-request-id" && v == "client-abc-123")
    );
    // Without one (and on gateway errors) the gateway makes one.
    let a = post(gw.addr, "/v1/chat/completions", chat("m")).await;
    let b = send(gw.addr, "POST", "/v1/chat/completions", "{", &[]).await;
    assert_eq!(b.status, 400);
    for r in [&a, &b] {
        let id = r.header("x-request-id").unwrap();
        assert!(id.starts_with("sy-") && id.len() == 19, "{id}");
    }
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}

/// A body that arrives in many pieces (with a length, and chunked) is
/// gathered whole: the gateway and the provider both read valid JSON with
/// the model, and a body past the limit in pieces is still refused.
#[tokio::test]
async fn bodies_in_pieces_arrive_whole() {
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "sk-test-00000001",
        "routes:\n  - { name: gpt, models: [\"gpt-*\"], provider: p }\nserver: { listen: \"127.0.0.1:0\", maxBodyBytes: 400000 }",
    )
    .await;
    let body = serde_json::to_vec(&serde_json::json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "piece ".repeat(50_000)}],
    }))
    .unwrap();
    for (framing, body) in [
        ("length", body.clone()),
        ("chunked", body.clone()),
        ("chunked", vec![b' '; 500_000]),
    ] {
        let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        let head = if framing == "length" {
            format!("content-length: {}", body.len())
        } else {
            "transfer-encoding: chunked".to_string()
        };
        s.write_all(
            format!("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n{head}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        // The gateway may answer 413 and close before all is sent: a write
        // error then ends the sending, not the test.
        let mut framed = Vec::new();
        for piece in body.chunks(16 * 1024) {
            if framing == "length" {
                framed.push(piece.to_vec());
            } else {
                framed.push([format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat());
            }
        }
        if framing == "chunked" {
            framed.push(b"0\r\n\r\n".to_vec());
        }
        for piece in framed {
            if s.write_all(&piece).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
        let mut out = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::AsyncReadExt::read_to_end(&mut s, &mut out),
        )
        .await;
        let text = String::from_utf8_lossy(&out);
        let want = if body.len() > 400_000 {
            "HTTP/1.1 413"
        } else {
            "HTTP/1.1 200"
        };
        assert!(
            text.starts_with(want),
            "{framing}, {} bytes: {}",
            body.len(),
            &text[..text.len().min(300)]
        );
    }
    let seen = emu.emulator.requests();
    assert_eq!(seen.len(), 2, "the two valid bodies reached the provider");
    assert!(seen.iter().all(|r| r.model.as_deref() == Some("gpt-4o")));
}
