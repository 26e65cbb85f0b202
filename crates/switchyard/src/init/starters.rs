//! The providers a first start knows: for each, the environment variable
//! its SDKs read, its catalog type, the provider id and route written, and
//! the model-name prefixes routed to it; and the YAML written from them.
//! Pure: no terminal, no file, no process environment (callers pass a
//! lookup function).

/// One provider `switchyard init` asks about and the environment start
/// looks for.
#[derive(Debug)]
pub struct Starter {
    /// What the user knows it as, in prompts and banners.
    pub name: &'static str,
    /// The variables holding its key, the first preferred.
    pub env: &'static [&'static str],
    /// The catalog `type` (`switchyard_providers::catalog`).
    pub kind: &'static str,
    /// The provider id and route name written.
    pub id: &'static str,
    /// The route's model patterns.
    pub models: &'static [&'static str],
    /// `modelMapping` entries (e.g. stripping a `groq/` prefix).
    pub mapping: &'static [(&'static str, &'static str)],
    /// A model to try it with, for the printed `curl`.
    pub example: &'static str,
}

/// Asked in this order; routes are written in this order (first match
/// wins), so OpenRouter's catch-all `*/*` comes after every other
/// pattern with a slash.
pub static STARTERS: &[Starter] = &[
    Starter {
        name: "OpenAI",
        env: &["OPENAI_API_KEY"],
        kind: "openai",
        id: "openai",
        models: &[
            "gpt-*",
            "o1*",
            "o3*",
            "o4*",
            "chatgpt-*",
            "text-embedding-*",
        ],
        mapping: &[],
        example: "gpt-4o-mini",
    },
    Starter {
        name: "Anthropic (Claude)",
        env: &["ANTHROPIC_API_KEY"],
        kind: "claude",
        id: "claude",
        models: &["claude-*"],
        mapping: &[],
        example: "claude-3-5-haiku-latest",
    },
    Starter {
        name: "Google Gemini",
        env: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        kind: "gemini",
        id: "gemini",
        models: &["gemini-*"],
        mapping: &[],
        example: "gemini-2.0-flash",
    },
    Starter {
        name: "DeepSeek",
        env: &["DEEPSEEK_API_KEY"],
        kind: "deepseek",
        id: "deepseek",
        models: &["deepseek-*"],
        mapping: &[],
        example: "deepseek-chat",
    },
    Starter {
        name: "Qwen (Alibaba DashScope)",
        env: &["DASHSCOPE_API_KEY"],
        kind: "qwen",
        id: "qwen",
        models: &["qwen*", "qwq-*", "qvq-*"],
        mapping: &[],
        example: "qwen-plus",
    },
    Starter {
        name: "Moonshot (Kimi)",
        env: &["MOONSHOT_API_KEY"],
        kind: "moonshot",
        id: "moonshot",
        models: &["moonshot-*", "kimi-*"],
        mapping: &[],
        example: "moonshot-v1-8k",
    },
    Starter {
        name: "Mistral AI",
        env: &["MISTRAL_API_KEY"],
        kind: "mistral",
        id: "mistral",
        models: &[
            "mistral-*",
            "ministral-*",
            "magistral-*",
            "codestral-*",
            "devstral-*",
            "pixtral-*",
            "open-mistral-*",
            "open-mixtral-*",
        ],
        mapping: &[],
        example: "mistral-small-latest",
    },
    Starter {
        name: "xAI (Grok)",
        env: &["XAI_API_KEY"],
        kind: "grok",
        id: "grok",
        models: &["grok-*"],
        mapping: &[],
        example: "grok-3-mini",
    },
    Starter {
        name: "Zhipu AI (GLM)",
        env: &["ZHIPUAI_API_KEY"],
        kind: "zhipuai",
        id: "zhipu",
        models: &["glm-*"],
        mapping: &[],
        example: "glm-4-flash",
    },
    Starter {
        name: "MiniMax",
        env: &["MINIMAX_API_KEY"],
        kind: "minimax",
        id: "minimax",
        models: &["MiniMax-*", "abab*"],
        mapping: &[],
        example: "MiniMax-Text-01",
    },
    Starter {
        name: "Doubao (Volcengine Ark)",
        env: &["ARK_API_KEY"],
        kind: "doubao",
        id: "doubao",
        models: &["doubao-*"],
        mapping: &[],
        example: "doubao-1-5-pro-32k-250115",
    },
    Starter {
        name: "Groq",
        env: &["GROQ_API_KEY"],
        kind: "groq",
        id: "groq",
        models: &["groq/*"],
        mapping: &[("~^groq/(.+)$", "$1")],
        example: "groq/llama-3.1-8b-instant",
    },
    Starter {
        name: "Together AI",
        env: &["TOGETHER_API_KEY"],
        kind: "together-ai",
        id: "together",
        models: &["together/*"],
        mapping: &[("~^together/(.+)$", "$1")],
        example: "together/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    },
    Starter {
        name: "Fireworks AI",
        env: &["FIREWORKS_API_KEY"],
        kind: "fireworks",
        id: "fireworks",
        models: &["accounts/*"],
        mapping: &[],
        example: "accounts/fireworks/models/llama-v3p1-8b-instruct",
    },
    Starter {
        name: "OpenRouter",
        env: &["OPENROUTER_API_KEY"],
        kind: "openrouter",
        id: "openrouter",
        models: &["*/*"],
        mapping: &[],
        example: "openai/gpt-4o-mini",
    },
];

/// Where the gateway listens in a generated file.
pub const LISTEN: &str = "127.0.0.1:8080";
/// Where the admin API and console listen in a generated file.
pub const ADMIN_LISTEN: &str = "127.0.0.1:8001";

/// How a chosen provider's key is written.
#[derive(Clone, PartialEq, Eq)]
pub enum Key {
    /// The key itself (typed at the prompt).
    Literal(String),
    /// A `${VAR}` reference, expanded when the file is loaded.
    Env(&'static str),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Literal(_) => f.write_str("Literal(…)"),
            Key::Env(v) => write!(f, "Env({v})"),
        }
    }
}

/// A provider to write, with its key.
#[derive(Debug)]
pub struct Chosen {
    pub starter: &'static Starter,
    pub key: Key,
}

/// Every variable looked for, in order.
pub fn env_var_names() -> Vec<&'static str> {
    STARTERS
        .iter()
        .flat_map(|s| s.env.iter().copied())
        .collect()
}

/// The providers whose variable is set (and not blank), each referring to
/// the first of its variables that is.
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Vec<Chosen> {
    STARTERS
        .iter()
        .filter_map(|s| {
            let var = s
                .env
                .iter()
                .find(|v| get(v).is_some_and(|val| !val.trim().is_empty()))?;
            Some(Chosen {
                starter: s,
                key: Key::Env(var),
            })
        })
        .collect()
}

/// A YAML double-quoted scalar (JSON strings are YAML) with `${` escaped,
/// so a literal key is never taken for a variable reference.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.replace("${", "$${")).to_string()
}

/// The configuration file for `chosen`: one provider and one route each,
/// the server on [`LISTEN`], the admin API on [`ADMIN_LISTEN`] (with
/// `admin_token`, if any).
pub fn yaml(chosen: &[Chosen], admin_token: Option<&str>, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
    }
    out.push_str(&format!("server:\n  listen: {}\n", quoted(LISTEN)));
    out.push_str(&format!("admin:\n  listen: {}\n", quoted(ADMIN_LISTEN)));
    if let Some(t) = admin_token {
        out.push_str(&format!("  token: {}\n", quoted(t)));
    }
    out.push_str("providers:\n");
    for c in chosen {
        let s = c.starter;
        let key = match &c.key {
            Key::Literal(k) => quoted(k),
            // Variable names are letters, digits and `_`: nothing to escape.
            Key::Env(v) => format!("\"${{{v}}}\""),
        };
        out.push_str(&format!(
            "  - id: {}\n    type: {}\n    apiTokens: [{key}]\n",
            s.id, s.kind
        ));
        if !s.mapping.is_empty() {
            out.push_str("    modelMapping:\n");
            for (from, to) in s.mapping {
                out.push_str(&format!("      {}: {}\n", quoted(from), quoted(to)));
            }
        }
    }
    out.push_str("routes:\n");
    for c in chosen {
        let s = c.starter;
        let models: Vec<String> = s.models.iter().map(|m| quoted(m)).collect();
        out.push_str(&format!(
            "  - name: {}\n    models: [{}]\n    provider: {}\n",
            s.id,
            models.join(", "),
            s.id
        ));
    }
    out
}

/// The configuration the gateway runs when no file is found but provider
/// keys are in the environment.
pub struct EnvStart {
    /// The YAML text (keys as `${VAR}` references; admin without token,
    /// on loopback).
    pub yaml: String,
    /// The source name for errors: `environment (OPENAI_API_KEY, ...)`.
    pub source: String,
    pub chosen: Vec<Chosen>,
}

/// The environment start, or `None` when no provider variable is set.
pub fn env_start(get: impl Fn(&str) -> Option<String>) -> Option<EnvStart> {
    let chosen = from_env(get);
    if chosen.is_empty() {
        return None;
    }
    let vars: Vec<&str> = chosen
        .iter()
        .filter_map(|c| match c.key {
            Key::Env(v) => Some(v),
            Key::Literal(_) => None,
        })
        .collect();
    let yaml = yaml(
        &chosen,
        None,
        "Generated from the environment: no configuration file was found.\nRun `switchyard init` to write one.",
    );
    Some(EnvStart {
        yaml,
        source: format!("environment ({})", vars.join(", ")),
        chosen,
    })
}

/// `openai (OPENAI_API_KEY): gpt-*, o1*, ...`, one line per provider.
pub fn describe(chosen: &[Chosen]) -> String {
    let mut out = String::new();
    for c in chosen {
        let from = match &c.key {
            Key::Env(v) => format!(" (${v})"),
            Key::Literal(_) => String::new(),
        };
        out.push_str(&format!(
            "  {}{from}: {}\n",
            c.starter.id,
            c.starter.models.join(", ")
        ));
    }
    out
}

/// A random admin token: `sya-` and 32 letters and digits.
pub fn admin_token() -> Result<String, String> {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let rng = ring::rand::SystemRandom::new();
    let mut token = String::from("sya-");
    let mut bytes = [0u8; 64];
    while token.len() < 4 + 32 {
        rng.fill(&mut bytes)
            .map_err(|_| "the system's random source failed".to_string())?;
        // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
        for b in bytes.iter().filter(|b| **b < 248) {
            if token.len() == 4 + 32 {
                break;
            }
            token.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
        }
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::{HashMap, HashSet};
    use switchyard_config::Config;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn route<'a>(cfg: &'a Config, model: &str) -> Option<&'a str> {
        cfg.routes
            .iter()
            .find(|r| {
                r.models
                    .iter()
                    .any(|p| switchyard_routing::Glob::new(p).matches(model))
            })
            .map(|r| r.provider.as_str())
    }

    #[test]
    fn every_starter_is_a_catalog_type_with_unique_ids_and_variables() {
        let mut ids = HashSet::new();
        let mut vars = HashSet::new();
        for s in STARTERS {
            assert!(
                switchyard_providers::lookup(s.kind).is_some(),
                "{} is not a catalog type",
                s.kind
            );
            assert!(ids.insert(s.id), "duplicate id {}", s.id);
            for v in s.env {
                assert!(vars.insert(*v), "duplicate variable {v}");
            }
            assert!(!s.models.is_empty());
        }
    }

    #[test]
    fn every_starter_yields_a_valid_config_routing_its_example() {
        let all: Vec<&str> = env_var_names();
        let pairs: Vec<(&str, &str)> = all.iter().map(|v| (*v, "sk-test")).collect();
        let chosen = from_env(env(&pairs));
        assert_eq!(chosen.len(), STARTERS.len());
        // GOOGLE_API_KEY is the second choice when GEMINI_API_KEY is set too.
        assert!(chosen.iter().any(|c| c.key == Key::Env("GEMINI_API_KEY")));
        // Literal keys: the references would need the variables set.
        let literal: Vec<Chosen> = chosen
            .into_iter()
            .map(|c| Chosen {
                starter: c.starter,
                key: Key::Literal("sk-test".into()),
            })
            .collect();
        let text = yaml(&literal, Some("sya-abc"), "header");
        let cfg = Config::from_yaml(&text, "test").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(cfg.providers.len(), STARTERS.len());
        for s in STARTERS {
            assert_eq!(route(&cfg, s.example), Some(s.id), "{}", s.example);
        }
        assert_eq!(route(&cfg, "gpt-4o"), Some("openai"));
        assert_eq!(route(&cfg, "o3-mini"), Some("openai"));
        assert_eq!(route(&cfg, "text-embedding-3-small"), Some("openai"));
        assert_eq!(route(&cfg, "qwq-32b"), Some("qwen"));
        assert_eq!(route(&cfg, "qwen3-235b-a22b"), Some("qwen"));
        assert_eq!(route(&cfg, "kimi-k2-0711-preview"), Some("moonshot"));
        assert_eq!(
            route(&cfg, "anthropic/claude-3.5-sonnet"),
            Some("openrouter")
        );
        assert_eq!(route(&cfg, "llama3"), None);
        let admin = cfg.admin.unwrap();
        assert_eq!(admin.listen, ADMIN_LISTEN);
        assert_eq!(admin.token.as_deref(), Some("sya-abc"));
        assert_eq!(cfg.server.listen, LISTEN);
    }

    #[test]
    fn env_start_refers_to_the_variables_set_and_holds_no_value() {
        assert!(env_start(env(&[])).is_none());
        assert!(env_start(env(&[("OPENAI_API_KEY", "  ")])).is_none());
        let start = env_start(env(&[
            ("OPENAI_API_KEY", "sk-secret-openai"),
            ("DEEPSEEK_API_KEY", "sk-secret-deepseek"),
            ("GOOGLE_API_KEY", "g-secret"),
        ]))
        .unwrap();
        assert_eq!(
            start.source,
            "environment (OPENAI_API_KEY, GOOGLE_API_KEY, DEEPSEEK_API_KEY)"
        );
        assert!(!start.yaml.contains("secret"), "{}", start.yaml);
        assert!(!start.yaml.contains("token:"), "{}", start.yaml);
        assert!(
            start.yaml.contains(
                "  - id: openai\n    type: openai\n    apiTokens: [\"${OPENAI_API_KEY}\"]\n"
            ),
            "{}",
            start.yaml
        );
        assert!(start.yaml.contains("apiTokens: [\"${GOOGLE_API_KEY}\"]"));
        assert!(start.yaml.contains(
            "  - name: deepseek\n    models: [\"deepseek-*\"]\n    provider: deepseek\n"
        ));
        assert!(start.yaml.starts_with("# Generated from the environment"));
        assert_eq!(
            describe(&start.chosen).lines().nth(2),
            Some("  deepseek ($DEEPSEEK_API_KEY): deepseek-*")
        );
    }

    #[test]
    fn literal_keys_are_quoted_and_never_expanded() {
        let chosen = vec![Chosen {
            starter: &STARTERS[0],
            key: Key::Literal("sk-a\"b\\c${HOME}".into()),
        }];
        let text = yaml(&chosen, Some("sya-x"), "");
        let cfg = Config::from_yaml(&text, "test").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(cfg.providers[0].api_tokens, vec!["sk-a\"b\\c${HOME}"]);
        assert!(!format!("{chosen:?}").contains("sk-a"));
    }

    #[test]
    fn admin_tokens_are_random_letters_and_digits() {
        let a = admin_token().unwrap();
        let b = admin_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert!(a.starts_with("sya-"));
        assert!(a[4..].bytes().all(|b| b.is_ascii_alphanumeric()), "{a}");
    }
}
