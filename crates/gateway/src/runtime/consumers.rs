//! Consumers compiled for the request path: keys held only as SHA-256
//! digests and allowed model globs.

use std::collections::HashMap;
use std::sync::Arc;

use http::HeaderName;
use switchyard_config::Config;
use switchyard_routing::Glob;

use super::BuildError;
use super::limits::{ConsumerBudget, ConsumerLimits, consumer_budget, consumer_limits};

/// One consumer.
#[derive(Debug)]
pub struct Consumer {
    pub name: Arc<str>,
    /// Requested models it may use; `None`: all.
    pub models: Option<Vec<Glob>>,
    /// Its own rate limits, over all its keys.
    pub limits: Option<ConsumerLimits>,
    /// Its spend cap per period.
    pub budget: Option<ConsumerBudget>,
}

impl Consumer {
    pub fn allows_model(&self, model: &str) -> bool {
        self.models
            .as_ref()
            .is_none_or(|globs| globs.iter().any(|g| g.matches(model)))
    }
}

/// Who may call, and where their keys are read.
pub struct Auth {
    pub required: bool,
    pub headers: Vec<HeaderName>,
    /// `None`: keys are not read from the query.
    pub query_param: Option<String>,
    /// By the SHA-256 of the key's bytes.
    by_digest: HashMap<[u8; 32], Arc<Consumer>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("required", &self.required)
            .field("headers", &self.headers)
            .field("query_param", &self.query_param)
            .field("consumers", &self.by_digest.len())
            .finish()
    }
}

fn digest(key: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, key);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Auth {
    /// The consumer called `name`.
    pub fn consumer_named(&self, name: &str) -> Option<&Arc<Consumer>> {
        self.by_digest.values().find(|c| &*c.name == name)
    }

    pub fn build(cfg: &Config) -> Result<Auth, BuildError> {
        let mut by_digest = HashMap::new();
        for c in &cfg.consumers {
            let consumer = Consumer {
                name: Arc::from(c.name.as_str()),
                models: c
                    .models
                    .as_ref()
                    .map(|m| m.iter().map(|p| Glob::new(p)).collect()),
                limits: consumer_limits(&c.name, c),
                budget: consumer_budget(&c.name, c),
            };
            let consumer = Arc::new(consumer);
            for (i, key) in c.keys.iter().enumerate() {
                let d = match key.strip_prefix("sha256:") {
                    Some(hex) => parse_hex(hex).ok_or_else(|| {
                        BuildError(format!(
                            "consumer `{}`: keys[{i}] is not a sha256: digest",
                            c.name
                        ))
                    })?,
                    None => digest(key.as_bytes()),
                };
                by_digest.insert(d, consumer.clone());
            }
        }
        let headers = cfg
            .auth
            .key_headers
            .iter()
            .map(|h| {
                HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes())
                    .map_err(|_| BuildError(format!("auth.keyHeaders: `{h}` is not a header name")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Auth {
            required: cfg.auth_required(),
            headers,
            query_param: (!cfg.auth.query_param.is_empty()).then(|| cfg.auth.query_param.clone()),
            by_digest,
        })
    }

    /// Whether requests are identified at all.
    pub fn active(&self) -> bool {
        self.required || !self.by_digest.is_empty()
    }

    /// The consumer a key belongs to. The key is hashed first and only
    /// digests are compared, so neither the keys held nor the time taken
    /// tell anything about a key that does not match.
    pub fn consumer(&self, key: &[u8]) -> Option<&Arc<Consumer>> {
        self.by_digest.get(&digest(key))
    }
}

/// A new random consumer key: `sy-` and 32 random bytes in hex.
pub fn new_key() -> Result<String, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the system's random source failed".to_string())?;
    let mut key = String::with_capacity(3 + 64);
    key.push_str("sy-");
    for b in bytes {
        key.push_str(&format!("{b:02x}"));
    }
    Ok(key)
}
