//! Tests of parsing and validating a configuration.

use crate::Config;

const OK: &str = r#"
server: { listen: "127.0.0.1:0", maxBodyBytes: 1024 }
providers:
  - id: deepseek
    type: deepseek
    apiTokens: ["sk-1", "sk-2"]
    baseUrl: "http://127.0.0.1:9001"
    modelMapping: { "gpt-4o": "deepseek-chat", "gpt-3-*": "deepseek-chat", "~^o(\\d)$": "deepseek-r$1", "*": "deepseek-chat" }
    timeout: 120s
    firstByteTimeout: 30000
    headers: { "x-extra": "v" }
  - id: local
    type: ollama
    ollamaServerPort: 11435
routes:
  - name: deepseek
    models: ["deepseek-*", "gpt-*"]
    provider: deepseek
  - name: rest
    provider: local
"#;

#[test]
fn files_provider_must_offer_files() {
    let yaml = |id: &str| {
        format!(
            "providers:\n  - {{ id: oai, type: openai, apiTokens: [k] }}\n  - {{ id: ds, type: deepseek, apiTokens: [k] }}\nroutes:\n  - {{ name: r, provider: oai }}\nfilesProvider: {id}\n"
        )
    };
    let c = Config::from_yaml(&yaml("oai"), "t.yaml").unwrap();
    assert_eq!(c.files_provider.as_deref(), Some("oai"));
    let e = Config::from_yaml(&yaml("ds"), "t.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("filesProvider: provider `ds` (type deepseek) offers neither"),
        "{e}"
    );
    let e = Config::from_yaml(&yaml("nope"), "t.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("filesProvider: no provider has id `nope`"),
        "{e}"
    );
}

#[test]
fn parses_the_documented_shape() {
    let c = Config::from_yaml(OK, "t.yaml").unwrap();
    assert_eq!(c.providers.len(), 2);
    assert_eq!(c.providers[0].model_mapping[2].0, "~^o(\\d)$");
    assert_eq!(c.providers[0].first_byte_deadline().as_secs(), 30);
    assert_eq!(c.server.max_body_bytes, 1024);
    assert_eq!(
        c.server.models_refresh_interval,
        std::time::Duration::from_secs(600),
        "default modelsRefreshInterval"
    );
    let c = Config::from_yaml("server: { modelsRefreshInterval: 30s }\nproviders: [{ id: a, type: openai, apiTokens: [k] }]\n", "t.yaml").unwrap();
    assert_eq!(c.server.models_refresh_interval.as_secs(), 30);
    let e = Config::from_yaml("server: { modelsRefreshInterval: 0 }\nproviders: [{ id: a, type: openai, apiTokens: [k] }]\n", "t.yaml")
            .unwrap_err()
            .to_string();
    assert!(
        e.contains("server.modelsRefreshInterval: must be greater than 0"),
        "{e}"
    );
}

#[test]
fn unknown_field_names_field_and_line() {
    let text = "providers:\n  - id: a\n    type: openai\n    apiTokens: [x]\n    apiToken: [y]\n";
    let e = Config::from_yaml(text, "t.yaml").unwrap_err().to_string();
    assert!(e.contains("unknown field `apiToken`"), "{e}");
    assert!(e.contains("line 5"), "{e}");
}

#[test]
fn env_is_expanded_and_missing_env_is_named() {
    // SAFETY: tests in this module do not read this variable concurrently.
    unsafe { std::env::set_var("SWITCHYARD_TEST_KEY_A", "sk-from-env") };
    let text =
        "providers:\n  - id: a\n    type: openai\n    apiTokens: [\"${SWITCHYARD_TEST_KEY_A}\"]\n";
    let c = Config::from_yaml(text, "t.yaml").unwrap();
    assert_eq!(c.providers[0].api_tokens, vec!["sk-from-env"]);
    let text = "providers:\n  - id: a\n    type: openai\n    apiTokens: [\"${SWITCHYARD_TEST_UNSET_B}\"]\n";
    let e = Config::from_yaml(text, "t.yaml").unwrap_err().to_string();
    assert!(e.contains("SWITCHYARD_TEST_UNSET_B is not set"), "{e}");
    assert!(e.contains("providers[0]") && e.contains("line 2"), "{e}");
}

#[test]
fn all_problems_are_reported_together() {
    let text = r#"
server: { listen: "nowhere" }
providers:
  - { id: a, type: nope }
  - { id: a, type: openai, apiTokens: ["", " x"] }
  - { id: v, type: vllm, modelMapping: { "~(": "x" } }
routes:
  - { name: r, provider: missing }
  - { name: r, provider: a, models: [""] }
"#;
    let e = Config::from_yaml(text, "t.yaml").unwrap_err();
    let s = e.to_string();
    for needle in [
        "server.listen",
        "unknown provider type `nope`",
        "duplicate provider id `a`",
        "apiTokens[0]: is empty",
        "apiTokens[1]: has leading or trailing whitespace",
        "providers[2] (v).baseUrl: is required for type vllm",
        "modelMapping: key `~(`",
        "no provider has id `missing`",
        "duplicate route name `r`",
        "models[0]: is empty",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in:\n{s}");
    }
}

#[test]
fn admin_needs_a_token_off_loopback() {
    let e = Config::from_yaml(
        "admin: { listen: \"0.0.0.0:8001\", openPaths: [\"/admin/reload\", \"metrics\"] }\n",
        "t.yaml",
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "admin.listen: `0.0.0.0:8001` is reachable from other hosts but admin.token is not set",
        "admin.openPaths[0]: `/admin/reload` cannot be opened",
        "admin.openPaths[1]: `metrics` cannot be opened",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
    let c = Config::from_yaml(
            "admin: { listen: \"0.0.0.0:8001\", token: adm-0123456789abcdef }\nproviders: [{ id: a, type: openai, apiTokens: [x] }]\n",
            "t.yaml",
        )
        .unwrap();
    let admin = c.admin.unwrap();
    assert_eq!(admin.open_paths, ["/health", "/healthz", "/metrics"]);
    assert!(!format!("{admin:?}").contains("0123456789"), "{admin:?}");
    let e = Config::from_yaml(
        "admin: { listen: \"127.0.0.1:8001\", token: \" \" }\n",
        "t.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("admin.token: is empty"), "{e}");
}

#[test]
fn resilience_fields() {
    let text = r#"
providers:
  - id: q
    type: qwen
    apiTokens: [a, b]
    tokenSelection: round-robin
    failover: { enabled: true, failureThreshold: 1, healthCheckModel: qwen-turbo, healthCheckInterval: 2s, failoverOnStatus: ["4.*", "503"] }
    retryOnFailure: { enabled: true, maxRetries: 2, retryTimeout: 10s }
  - { id: d, type: deepseek, apiTokens: [c] }
routes:
  - name: qwen
    models: ["qwen-*"]
    provider: q
    fallback:
      onStatus: ["4xx", "5xx"]
      targets: [{ provider: d, model: deepseek-chat }, { provider: q }]
"#;
    let c = Config::from_yaml(text, "t.yaml").unwrap();
    let p = c.providers[0].health_policy().unwrap().unwrap();
    assert_eq!(p.failure_threshold, 1);
    assert!(p.failover_on.contains(503) && !p.failover_on.contains(504));
    assert_eq!(
        c.providers[0].retry_policy().unwrap().unwrap().max_retries,
        2
    );
    assert_eq!(c.routes[0].fallback.as_ref().unwrap().targets.len(), 2);

    let bad = r#"
providers:
  - id: q
    type: qwen
    apiTokens: [a]
    failover: { enabled: true, failureThreshold: 0, failoverOnStatus: ["9.*"] }
    retryOnFailure: { enabled: true, retryOnStatus: ["("] }
  - id: r
    type: qwen
    apiTokens: [a]
    failover: { enabled: true }
routes:
  - { name: a, provider: q, fallback: { targets: [{ provider: nope }] } }
  - { name: b, provider: r, fallback: { targets: [] } }
"#;
    let s = Config::from_yaml(bad, "t.yaml").unwrap_err().to_string();
    for needle in [
        "failover.failureThreshold: must be at least 1",
        "failoverOnStatus: `9.*` matches no HTTP status",
        "retryOnStatus: `(` is not a status pattern",
        "providers[1] (r).failover: set healthCheckModel",
        "fallback.targets[0].provider: no provider has id `nope`",
        "routes[1] (b).fallback.targets: list at least one",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in:\n{s}");
    }
}

#[test]
fn bad_duration_is_explained() {
    let text =
        "providers:\n  - id: a\n    type: openai\n    apiTokens: [x]\n    timeout: 5 parsecs\n";
    let e = Config::from_yaml(text, "t.yaml").unwrap_err().to_string();
    assert!(e.contains("unknown duration unit"), "{e}");
}
