//! Every catalog type reaches the path and auth scheme its provider expects,
//! as seen by the emulator; Azure endpoints keep their own tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use switchyard_emulator::MockConfig;
use switchyard_providers::{Api, AuthScheme, CATALOG, Dialect, ProviderKind};

/// OpenAI-style types; native dialects are covered by `translation.rs`.
fn openai_style() -> impl Iterator<Item = &'static ProviderKind> {
    CATALOG.iter().filter(|k| k.dialect == Dialect::OpenAi)
}

fn provider_yaml(kind: &str, emu: std::net::SocketAddr, token: Option<&str>) -> String {
    let tokens = token
        .map(|t| format!("    apiTokens: [\"{t}\"]\n"))
        .unwrap_or_default();
    let place = match kind {
        "azure" => format!(
            "    azureServiceUrl: \"http://{emu}/openai/deployments/dep-1/chat/completions?api-version=2024-10-21\"\n"
        ),
        "ollama" => format!(
            "    ollamaServerHost: \"{}\"\n    ollamaServerPort: {}\n",
            emu.ip(),
            emu.port()
        ),
        _ => format!("    baseUrl: \"http://{emu}\"\n"),
    };
    format!("  - id: p-{kind}\n    type: {kind}\n{tokens}{place}")
}

#[tokio::test]
async fn every_type_uses_its_path_and_auth_scheme() {
    let emu = default_emulator().await;
    let mut providers = String::new();
    let mut routes = String::new();
    for k in openai_style() {
        providers.push_str(&provider_yaml(
            k.name,
            emu.addr,
            Some(&format!("tok-{}-0123456789", k.name)),
        ));
        routes.push_str(&format!(
            "  - {{ name: r-{0}, models: [\"m-{0}\"], provider: p-{0} }}\n",
            k.name
        ));
    }
    let gw = gateway(&format!("providers:\n{providers}routes:\n{routes}")).await;

    for k in openai_style() {
        for api in [Api::ChatCompletions, Api::Embeddings] {
            if !k.supports(api) {
                continue;
            }
            emu.emulator.clear_requests();
            let model = format!("m-{}", k.name);
            let (path, body) = match api {
                Api::Embeddings => (
                    "/v1/embeddings",
                    serde_json::json!({"model": model, "input": "hi"}),
                ),
                _ => ("/v1/chat/completions", chat(&model)),
            };
            let r = post(gw.addr, path, body).await;
            assert_eq!(r.status, 200, "{} {:?}: {}", k.name, api, r.text());
            assert_eq!(
                r.header("x-switchyard-provider"),
                Some(format!("p-{}", k.name).as_str())
            );
            let seen = emu.emulator.requests();
            assert_eq!(seen.len(), 1, "{}", k.name);
            let seen = &seen[0];
            let expected_path = if k.name == "azure" {
                format!(
                    "/openai/deployments/dep-1{}?api-version=2024-10-21",
                    api.suffix()
                )
            } else {
                format!("{}{}", k.base_path, api.suffix())
            };
            assert_eq!(seen.path, expected_path, "{}", k.name);
            assert_eq!(
                seen.credential.as_deref(),
                Some(format!("tok-{}-0123456789", k.name).as_str()),
                "{}",
                k.name
            );
            let expected_header = match k.auth {
                AuthScheme::Header(h) => h,
                _ => "authorization",
            };
            assert_eq!(
                seen.auth_header.as_deref(),
                Some(expected_header),
                "{}",
                k.name
            );
            if matches!(k.auth, AuthScheme::Bearer | AuthScheme::OptionalBearer) {
                let auth = seen
                    .headers
                    .iter()
                    .find(|(n, _)| n == "authorization")
                    .map(|(_, v)| v.as_str());
                assert_eq!(
                    auth,
                    Some(format!("Bearer tok-{}-0123456789", k.name).as_str())
                );
            }
            assert_eq!(seen.host.as_deref(), Some(emu.addr.to_string().as_str()));
        }
    }
}

#[tokio::test]
async fn self_hosted_types_send_no_credential_without_tokens() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        "providers:\n{}{}routes:\n  - {{ name: a, models: [a], provider: p-ollama }}\n  - {{ name: b, provider: p-vllm }}\n",
        provider_yaml("ollama", emu.addr, None),
        provider_yaml("vllm", emu.addr, None)
    ))
    .await;
    for m in ["a", "b"] {
        emu.emulator.clear_requests();
        assert_eq!(
            post(gw.addr, "/v1/chat/completions", chat(m)).await.status,
            200
        );
        let seen = emu.emulator.requests();
        assert_eq!(seen[0].credential, None);
        assert!(seen[0].headers.iter().all(|(n, _)| n != "authorization"));
    }
}

#[tokio::test]
async fn two_azure_endpoints_keep_their_own_tokens() {
    let east = emulator(MockConfig {
        accept_tokens: Some(vec!["east-key-0001".into(), "east-key-0002".into()]),
        ..Default::default()
    })
    .await;
    let west = emulator(MockConfig {
        accept_tokens: Some(vec!["west-key-0001".into()]),
        ..Default::default()
    })
    .await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: azure-east
    type: azure
    apiTokens: ["east-key-0001", "east-key-0002"]
    azureServiceUrl: "http://{}/openai/deployments/gpt4o-east/chat/completions?api-version=2024-10-21"
  - id: azure-west
    type: azure
    apiTokens: ["west-key-0001"]
    azureServiceUrl: "http://{}?api-version=2024-06-01"
routes:
  - {{ name: east, models: ["east-*"], provider: azure-east }}
  - {{ name: west, models: ["west-*"], provider: azure-west }}
"#,
        east.addr, west.addr
    ))
    .await;
    for i in 0..20 {
        let r = post(gw.addr, "/v1/chat/completions", chat("east-model")).await;
        assert_eq!(r.status, 200, "east #{i}: {}", r.text());
        let r = post(gw.addr, "/v1/chat/completions", chat("west-gpt")).await;
        assert_eq!(r.status, 200, "west #{i}: {}", r.text());
    }
    let e = east.emulator.requests();
    let w = west.emulator.requests();
    assert_eq!((e.len(), w.len()), (20, 20));
    assert!(e.iter().all(|r| {
        r.credential
            .as_deref()
            .is_some_and(|c| c.starts_with("east-"))
            && r.auth_header.as_deref() == Some("api-key")
    }));
    assert!(
        w.iter()
            .all(|r| r.credential.as_deref() == Some("west-key-0001"))
    );
    assert!(e.iter().all(
        |r| r.path == "/openai/deployments/gpt4o-east/chat/completions?api-version=2024-10-21"
    ));
    // Resource-only URL: the deployment is the requested (mapped) model.
    assert!(
        w.iter()
            .all(|r| r.path
                == "/openai/deployments/west-gpt/chat/completions?api-version=2024-06-01")
    );
}
