//! The built-in demo: with no configuration file, the gateway routes every
//! model to an in-process emulator, so the first command a newcomer runs
//! answers a real request with no key and no network.

use std::net::SocketAddr;

use switchyard_config::Config;

/// The demo's config document.
pub fn yaml(emulator: SocketAddr) -> String {
    format!(
        r#"
server:
  listen: "127.0.0.1:8080"
providers:
  - id: demo
    type: openai
    baseUrl: "http://{emulator}"
    apiTokens: ["sk-demo-emulator-key"]
    modelMapping: {{ "gpt-4o-mini": "", "gpt-4o": "", "text-embedding-3-small": "" }}
routes:
  - name: demo
    provider: demo
admin:
  listen: "127.0.0.1:8001"
"#
    )
}

pub fn banner(addr: SocketAddr, admin: Option<SocketAddr>) -> String {
    let metrics = match admin {
        Some(a) => format!(
            "Console: http://{a}/ (providers, routes, consumers, traffic, a playground)\nMetrics: curl http://{a}/metrics   Credential health: curl http://{a}/status\n"
        ),
        None => String::new(),
    };
    format!(
        r#"
Switchyard is running a demo: no config file was found ({looked})
and no provider key is in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY,
DEEPSEEK_API_KEY, ...), so every model is answered by the built-in provider
emulator (no API key, no network needed).

  curl http://{addr}/v1/chat/completions \
    -H 'content-type: application/json' \
    -d '{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"Hello!"}}]}}'

Add "stream": true for a streamed answer. To reach real providers, run
`switchyard init` (it asks for your API keys and writes switchyard.yaml), or
set OPENAI_API_KEY (or another provider's key variable) and start again.
{metrics}Each request is logged below as one JSON line (the access log).
"#,
        looked = crate::init::LOOKED_FOR,
    )
}

/// The check-config summary.
pub fn summary(cfg: &Config) -> String {
    let mut out = format!(
        "  listen: {} (maxBodyBytes {})\n",
        cfg.server.listen, cfg.server.max_body_bytes
    );
    if let Some(a) = &cfg.admin {
        out.push_str(&format!("  admin: {}\n", a.listen));
    }
    out.push_str(&format!("  providers ({}):\n", cfg.providers.len()));
    for p in &cfg.providers {
        out.push_str(&format!(
            "    - {} (type {}, {} token{}, {} mapping rule{})\n",
            p.id,
            p.kind,
            p.api_tokens.len(),
            if p.api_tokens.len() == 1 { "" } else { "s" },
            p.model_mapping.len(),
            if p.model_mapping.len() == 1 { "" } else { "s" },
        ));
    }
    out.push_str(&format!("  routes ({}):\n", cfg.routes.len()));
    for r in &cfg.routes {
        let models = if r.models.is_empty() {
            "any model".to_string()
        } else {
            r.models.join(", ")
        };
        out.push_str(&format!("    - {}: {} -> {}\n", r.name, models, r.provider));
    }
    out
}
