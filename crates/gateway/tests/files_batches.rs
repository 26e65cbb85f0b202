//! Files and batches (no model: a provider named by `x-switchyard-provider`
//! or `filesProvider`) and Anthropic token counting (the provider's, else
//! the gateway's estimate), end to end through the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::*;
use serde_json::json;

const FORM_TYPE: &str = "multipart/form-data; boundary=b0undary";

fn file_form(purpose: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/jsonl\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(data);
    b.extend_from_slice(b"\r\n--b0undary--\r\n");
    b
}

fn config(emu: SocketAddr, files_provider: Option<&str>) -> String {
    let default = files_provider
        .map(|p| format!("filesProvider: {p}\n"))
        .unwrap_or_default();
    format!(
        r#"
providers:
  - id: oai
    type: openai
    baseUrl: "http://{emu}"
    apiTokens: ["sk-oai-0000000001"]
  - id: backup
    type: openai
    baseUrl: "http://{emu}"
    apiTokens: ["limited-00000001", "sk-backup-000001"]
    tokenSelection: round-robin
    retryOnFailure: {{ enabled: true, maxRetries: 1 }}
  - id: ds
    type: deepseek
    baseUrl: "http://{emu}"
    apiTokens: ["sk-ds-00000000001"]
  - id: claude
    type: claude
    baseUrl: "http://{emu}"
    apiTokens: ["sk-ant-0000000001"]
routes:
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: ds, models: ["deepseek-*"], provider: ds }}
  - {{ name: rest, provider: oai }}
{default}"#
    )
}

fn last_credential(emu: &switchyard_emulator::RunningEmulator) -> String {
    emu.emulator
        .requests()
        .last()
        .and_then(|r| r.credential.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn files_and_batches_go_to_the_default_or_the_named_provider() {
    let emu = default_emulator().await;
    let gw = gateway(&config(emu.addr, Some("oai"))).await;
    let lines = b"{\"custom_id\":\"1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n{\"custom_id\":\"2\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n";
    let r = send(
        gw.addr,
        "POST",
        "/v1/files",
        file_form("batch", "in.jsonl", lines),
        &[("content-type", FORM_TYPE)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchyard-provider"), Some("oai"));
    assert!(r.header("x-switchyard-model").is_none());
    let file = r.json();
    let id = file["id"].as_str().unwrap().to_string();
    assert_eq!(file["bytes"], lines.len());
    assert_eq!(last_credential(&emu), "sk-oai-0000000001");

    // Named by the header: another provider (same emulator, its token).
    let named = [("x-switchyard-provider", "backup")];
    let r = send(gw.addr, "GET", &format!("/v1/files/{id}"), "", &named).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["filename"], "in.jsonl");
    assert_eq!(r.header("x-switchyard-provider"), Some("backup"));
    assert_eq!(last_credential(&emu), "sk-backup-000001");

    let r = send(gw.addr, "GET", &format!("/v1/files/{id}/content"), "", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], lines);
    let r = send(gw.addr, "GET", "/v1/files?purpose=batch", "", &[]).await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        emu.emulator.requests().last().unwrap().path,
        "/v1/files?purpose=batch"
    );

    let r = post(
        gw.addr,
        "/v1/batches",
        json!({"input_file_id": id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let batch = r.json();
    assert_eq!(batch["request_counts"]["total"], 2);
    let bid = batch["id"].as_str().unwrap();
    let r = send(gw.addr, "GET", &format!("/v1/batches/{bid}"), "", &named).await;
    assert_eq!(r.json()["status"], "validating");
    let r = send(
        gw.addr,
        "POST",
        &format!("/v1/batches/{bid}/cancel"),
        "",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "cancelled");
    let r = send(gw.addr, "GET", "/v1/batches?limit=5", "", &[]).await;
    assert_eq!(r.json()["data"][0]["id"], bid);

    let r = send(gw.addr, "DELETE", &format!("/v1/files/{id}"), "", &[]).await;
    assert_eq!(r.json()["deleted"], true);
    // The provider's own 404 is relayed.
    let r = send(gw.addr, "GET", &format!("/v1/files/{id}"), "", &[]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn files_fail_over_across_the_providers_tokens() {
    let emu = default_emulator().await;
    let gw = gateway(&config(emu.addr, Some("backup"))).await;
    for _ in 0..4 {
        let r = send(gw.addr, "GET", "/v1/batches", "", &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let creds: Vec<String> = emu
        .emulator
        .requests()
        .iter()
        .filter_map(|r| r.credential.clone())
        .collect();
    assert!(creds.iter().any(|c| c.starts_with("limited-")), "{creds:?}");
    assert_eq!(
        creds.iter().filter(|c| c.starts_with("sk-backup")).count(),
        4
    );
}

#[tokio::test]
async fn files_errors_say_what_to_do() {
    let emu = default_emulator().await;
    let gw = gateway(&config(emu.addr, None)).await;
    let r = send(gw.addr, "GET", "/v1/files", "", &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "missing_provider");
    let m = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        m.contains("x-switchyard-provider") && m.contains("filesProvider"),
        "{m}"
    );

    let r = send(
        gw.addr,
        "GET",
        "/v1/files",
        "",
        &[("x-switchyard-provider", "nope")],
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "provider_not_found");
    assert!(r.text().contains("oai, backup, ds, claude"), "{}", r.text());

    let r = send(
        gw.addr,
        "GET",
        "/v1/files",
        "",
        &[("x-switchyard-provider", "ds")],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "unsupported_api");
    assert!(r.text().contains("files"), "{}", r.text());

    let r = send(
        gw.addr,
        "PUT",
        "/v1/files",
        "",
        &[("x-switchyard-provider", "oai")],
    )
    .await;
    assert_eq!(r.status, 405);
    assert!(r.text().contains("GET or POST"), "{}", r.text());
    let r = send(
        gw.addr,
        "GET",
        "/v1/files/a/b/c",
        "",
        &[("x-switchyard-provider", "oai")],
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(emu.emulator.requests().is_empty());
}

fn count_body(model: &str) -> serde_json::Value {
    json!({"model": model, "system": "Be brief.",
           "messages": [{"role": "user", "content": "How many tokens is this sentence?"}]})
}

#[tokio::test]
async fn count_tokens_by_the_provider_or_estimated() {
    let emu = default_emulator().await;
    let gw = gateway(&config(emu.addr, None)).await;
    // A claude provider has the endpoint: its own count.
    let r = post_id(
        gw.addr,
        "/v1/messages/count_tokens",
        "c1",
        count_body("claude-sonnet-4-5"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["input_tokens"].as_u64().unwrap() > 0);
    assert!(r.header("x-switchyard-tokens-estimated").is_none());
    assert_eq!(r.header("x-switchyard-provider"), Some("claude"));
    let seen = emu.emulator.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/messages/count_tokens");

    // Any other provider: the gateway's tokenizer, marked estimated.
    for model in ["gpt-4o", "deepseek-chat"] {
        let r = post_id(
            gw.addr,
            "/v1/messages/count_tokens",
            "c2",
            count_body(model),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let n = r.json()["input_tokens"].as_u64().unwrap();
        assert!((8..60).contains(&n), "{n}");
        assert_eq!(r.header("x-switchyard-tokens-estimated"), Some("true"));
    }
    assert_eq!(emu.emulator.requests().len(), 1);

    // A bad request: Anthropic's error shape.
    let r = post_id(
        gw.addr,
        "/v1/messages/count_tokens",
        "c3",
        json!({"model": "gpt-4o", "messages": "nope"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["type"], "error");
}
