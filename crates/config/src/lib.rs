//! The YAML configuration: schema, `${ENV}` expansion, durations and
//! validation with precise errors.
//!
//! [`Config::from_yaml`] parses and validates; every problem found is
//! reported at once, each naming the field (and, for syntax and unknown
//! fields, the line) so a user can fix the file in one pass.

mod access;
mod de;
mod debug;
mod document;
mod schema;
mod validate;

pub use access::{
    BudgetConfig, LimitBy, LimitKind, LimitSpec, LimitWindow, LimitsConfig, OnStoreError,
    PriceConfig, PriceTableConfig, RateLimitConfig, RedisConfig, mask_url_password,
};
pub use de::{expand_env, parse_duration};
pub use document::{Document, EditError, Resource, mask_secret};
pub use schema::{
    AdminConfig, AuthConfig, Config, ConsumerConfig, FailoverConfig, FallbackConfig,
    FallbackTarget, LogConfig, MetricsConfig, OtelConfig, ProviderConfig, RetryConfig, RouteConfig,
    ServerConfig, TokenSelection,
};
pub use validate::{ConfigError, Problem};

use std::path::Path;

/// The lowercase hex SHA-256 of a consumer key's UTF-8 bytes: the form
/// keys are compared in, and the `sha256:` form a config may hold.
pub fn key_digest_hex(key: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    let mut s = String::with_capacity(64);
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl Config {
    /// Parse and validate a YAML document. `source` names it in errors.
    pub fn from_yaml(text: &str, source: &str) -> Result<Config, ConfigError> {
        let cfg: Config = serde_norway::from_str(text).map_err(|e| ConfigError {
            source: source.to_string(),
            problems: vec![Problem {
                path: String::new(),
                message: e.to_string(),
            }],
        })?;
        let problems = cfg.problems();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError {
                source: source.to_string(),
                problems,
            })
        }
    }

    /// Read, parse and validate a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source: source.clone(),
            problems: vec![Problem {
                path: String::new(),
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        Config::from_yaml(&text, &source)
    }
}
