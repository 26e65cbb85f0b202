//! Model mapping as the upstream sees it, including overlapping rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test]
async fn each_rule_kind_and_overlaps_resolve_deterministically() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: ds
    type: deepseek
    apiTokens: ["sk-test-000000001"]
    baseUrl: "http://{}"
    modelMapping:
      "*": "deepseek-chat"
      "~^o(\\d)$": "deepseek-r$1"
      "~^o(\\d)-mini$": "mini-r$1"
      "gpt-*": "from-short-prefix"
      "gpt-4*": "from-long-prefix"
      "gpt-4o": "from-exact"
      "keep-me": ""
routes:
  - {{ name: all, provider: ds }}
"#,
        emu.addr
    ))
    .await;
    let cases = [
        ("gpt-4o", "from-exact"),
        ("gpt-4-turbo", "from-long-prefix"),
        ("gpt-3.5-turbo", "from-short-prefix"),
        ("o1", "deepseek-r1"),
        ("o3-mini", "mini-r3"),
        ("keep-me", "keep-me"),
        ("claude-3", "deepseek-chat"),
    ];
    for _round in 0..3 {
        for (asked, sent) in cases {
            emu.emulator.clear_requests();
            let r = post(gw.addr, "/v1/chat/completions", chat(asked)).await;
            assert_eq!(r.status, 200);
            assert_eq!(
                emu.emulator.requests()[0].model.as_deref(),
                Some(sent),
                "{asked}"
            );
            assert_eq!(r.header("x-switchyard-model"), Some(sent));
            assert_eq!(
                r.json()["model"],
                sent,
                "the body names the model that served"
            );
        }
    }
}

#[tokio::test]
async fn routes_match_first_and_models_are_listed() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: qwen, type: qwen, apiTokens: ["sk-q-0000000001"], baseUrl: "http://{0}", modelMapping: {{ "qwen-max": "", "other": "x" }} }}
  - {{ id: ds, type: deepseek, apiTokens: ["sk-d-0000000001"], baseUrl: "http://{0}" }}
routes:
  - {{ name: qwen, models: ["qwen-*"], provider: qwen }}
  - {{ name: ds, models: ["deepseek-chat", "deepseek-*", "qwen-turbo"], provider: ds }}
"#,
        emu.addr
    ))
    .await;
    let r = post(gw.addr, "/v1/chat/completions", chat("qwen-turbo")).await;
    assert_eq!(
        r.header("x-switchyard-provider"),
        Some("qwen"),
        "first matching route wins"
    );
    let r = post(gw.addr, "/v1/chat/completions", chat("deepseek-reasoner")).await;
    assert_eq!(r.header("x-switchyard-provider"), Some("ds"));

    let r = send(gw.addr, "GET", "/v1/models", "", &[]).await;
    assert_eq!(r.status, 200);
    let ids: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    // With the qwen provider's own models (the emulator's) behind `qwen-*`.
    assert_eq!(
        ids,
        [
            "qwen-max",
            "qwen-plus",
            "qwen-flash",
            "deepseek-chat",
            "qwen-turbo"
        ]
    );
}
