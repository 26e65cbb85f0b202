//! Who may spend how much: per-consumer limits and budgets, rate-limit
//! rules keyed by something else, prices, and the Redis store that shares
//! the counts between instances. (Consumers and keys themselves are in
//! `schema.rs`; their checks in `validate.rs`.)

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Deserialize;

use crate::de;
use crate::schema::Config;

/// Declares a struct holding the eight limits (`requestsPer{Second,Minute,
/// Hour,Day}`, `tokensPer…`) and `outputReserve`, plus the given fields:
/// consumer `limits` and `rateLimits[]` rules share them without serde's
/// `flatten` (which would lose unknown-field errors and their lines).
macro_rules! with_limits {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident: $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            #[serde(default)]
            pub requests_per_second: Option<u64>,
            #[serde(default)]
            pub requests_per_minute: Option<u64>,
            #[serde(default)]
            pub requests_per_hour: Option<u64>,
            #[serde(default)]
            pub requests_per_day: Option<u64>,
            #[serde(default)]
            pub tokens_per_second: Option<u64>,
            #[serde(default)]
            pub tokens_per_minute: Option<u64>,
            #[serde(default)]
            pub tokens_per_hour: Option<u64>,
            #[serde(default)]
            pub tokens_per_day: Option<u64>,
            /// Tokens reserved for the answer when a request gives no
            /// `max_tokens` (or `max_completion_tokens`, `max_output_tokens`).
            #[serde(default)]
            pub output_reserve: Option<u64>,
        }

        impl $name {
            /// The limits set, as `(field name, requests?, window, amount)`.
            pub fn limits(&self) -> Vec<LimitSpec> {
                [
                    ("requestsPerSecond", LimitKind::Requests, LimitWindow::Second, self.requests_per_second),
                    ("requestsPerMinute", LimitKind::Requests, LimitWindow::Minute, self.requests_per_minute),
                    ("requestsPerHour", LimitKind::Requests, LimitWindow::Hour, self.requests_per_hour),
                    ("requestsPerDay", LimitKind::Requests, LimitWindow::Day, self.requests_per_day),
                    ("tokensPerSecond", LimitKind::Tokens, LimitWindow::Second, self.tokens_per_second),
                    ("tokensPerMinute", LimitKind::Tokens, LimitWindow::Minute, self.tokens_per_minute),
                    ("tokensPerHour", LimitKind::Tokens, LimitWindow::Hour, self.tokens_per_hour),
                    ("tokensPerDay", LimitKind::Tokens, LimitWindow::Day, self.tokens_per_day),
                ]
                .into_iter()
                .filter_map(|(field, kind, window, amount)| {
                    amount.map(|amount| LimitSpec { field, kind, window, amount })
                })
                .collect()
            }
        }
    };
}

/// What a limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Requests,
    Tokens,
}

/// The sliding window of a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitWindow {
    Second,
    Minute,
    Hour,
    Day,
}

/// One limit as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSpec {
    /// The field that set it (`tokensPerMinute`), for errors.
    pub field: &'static str,
    pub kind: LimitKind,
    pub window: LimitWindow,
    pub amount: u64,
}

with_limits! {
    /// `consumers[].limits`: counted per consumer, across all its keys.
    pub struct LimitsConfig {}
}

with_limits! {
    /// `rateLimits[]`: limits counted per value of `by`.
    pub struct RateLimitConfig {
        #[serde(deserialize_with = "de::string")]
        pub name: String,
        /// `consumer`, `ip`, `header:NAME` or `param:NAME`.
        #[serde(deserialize_with = "de::string")]
        pub by: String,
    }
}

/// What a rate-limit rule counts by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitBy {
    Consumer,
    /// The client's address (the connection's peer).
    Ip,
    /// A request header's value (lowercase name).
    Header(String),
    /// A query parameter's value.
    Param(String),
}

impl LimitBy {
    pub fn parse(s: &str) -> Result<LimitBy, String> {
        let s = s.trim();
        match s {
            "consumer" => return Ok(LimitBy::Consumer),
            "ip" => return Ok(LimitBy::Ip),
            _ => {}
        }
        if let Some(h) = s.strip_prefix("header:") {
            if crate::validate::valid_header_name(h) {
                return Ok(LimitBy::Header(h.to_ascii_lowercase()));
            }
            return Err(format!("`{h}` is not a valid header name"));
        }
        if let Some(p) = s.strip_prefix("param:") {
            if !p.is_empty() {
                return Ok(LimitBy::Param(p.to_string()));
            }
            return Err("`param:` needs a query parameter name, e.g. `param:user`".into());
        }
        Err(format!(
            "`{s}` is not a key to count by; use consumer, ip, header:NAME or param:NAME"
        ))
    }
}

/// `consumers[].budget`: a spend cap per period.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BudgetConfig {
    /// US dollars per period.
    pub usd: f64,
    /// `1h`, `1d`, `7d`, `30d`...; periods are counted from the Unix epoch.
    #[serde(deserialize_with = "de::duration")]
    pub period: Duration,
}

/// One price, USD per million tokens.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PriceConfig {
    pub input: f64,
    pub output: f64,
    /// Cached prompt tokens; default: `input`.
    #[serde(default)]
    pub cached_input: Option<f64>,
}

/// What requests do when Redis cannot be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnStoreError {
    /// Count locally (per instance) until Redis is back.
    #[default]
    Allow,
    /// Refuse limited requests with 503 `limiter_unavailable`.
    Deny,
}

/// `redis:`: the store shared by every instance (limits, budgets,
/// credential health). `Debug` masks the URL's password.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port/db`.
    #[serde(deserialize_with = "de::string")]
    pub url: String,
    #[serde(default)]
    pub on_error: OnStoreError,
    /// How long a request waits for Redis before `onError` applies.
    #[serde(default = "default_redis_timeout", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Prefix of every key Switchyard writes (several deployments can share
    /// one Redis).
    #[serde(default = "default_redis_prefix", deserialize_with = "de::string")]
    pub key_prefix: String,
}

fn default_redis_timeout() -> Duration {
    Duration::from_millis(100)
}

fn default_redis_prefix() -> String {
    "switchyard".into()
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &mask_url_password(&self.url))
            .field("on_error", &self.on_error)
            .field("timeout", &self.timeout)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

/// `redis://user:secret@host` -> `redis://user:***@host`.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(split) => split,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://***@{host}"),
    }
}

/// `prices:` keys are model names or globs.
pub type PriceTableConfig = BTreeMap<String, PriceConfig>;

impl Config {
    pub(crate) fn access_problems(&self, add: &mut impl FnMut(String, String)) {
        for (i, c) in self.consumers.iter().enumerate() {
            let at = format!("consumers[{i}] ({})", c.name);
            if let Some(l) = &c.limits {
                limit_problems(&format!("{at}.limits"), l.limits(), l.output_reserve, add);
            }
            if let Some(b) = &c.budget {
                if !(b.usd.is_finite() && b.usd > 0.0) {
                    add(
                        format!("{at}.budget.usd"),
                        "must be a positive number of US dollars".into(),
                    );
                }
                if b.period < Duration::from_secs(60) {
                    add(
                        format!("{at}.budget.period"),
                        "must be at least 1m (e.g. 1h, 1d, 30d)".into(),
                    );
                }
            }
        }
        let mut names = HashSet::new();
        for (i, r) in self.rate_limits.iter().enumerate() {
            let at = format!("rateLimits[{i}] ({})", r.name);
            if !crate::validate::valid_id(&r.name) {
                add(
                    format!("rateLimits[{i}].name"),
                    "must be 1-64 letters, digits, `-`, `_` or `.`".into(),
                );
            } else if !names.insert(r.name.as_str()) {
                add(
                    format!("{at}.name"),
                    format!("duplicate rule name `{}`", r.name),
                );
            }
            if let Err(e) = LimitBy::parse(&r.by) {
                add(format!("{at}.by"), e);
            }
            let limits = r.limits();
            if limits.is_empty() {
                add(
                    at.clone(),
                    "sets no limit; add e.g. `requestsPerMinute` or `tokensPerMinute`".into(),
                );
            }
            limit_problems(&at, limits, r.output_reserve, add);
        }
        for (pattern, p) in &self.prices {
            let at = format!("prices.{pattern}");
            if pattern.trim().is_empty() {
                add(at.clone(), "a price needs a model name or glob".into());
            }
            for (field, v) in [
                ("input", Some(p.input)),
                ("output", Some(p.output)),
                ("cachedInput", p.cached_input),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    add(
                        format!("{at}.{field}"),
                        "must be a price in USD per million tokens, 0 or more".into(),
                    );
                }
            }
        }
        if let Some(r) = &self.redis {
            let url = r.url.trim();
            if !(url.starts_with("redis://") || url.starts_with("valkey://")) {
                add(
                    "redis.url".into(),
                    format!(
                        "`{}` is not a Redis URL; write redis://host:6379/0",
                        mask_url_password(url)
                    ),
                );
            }
            if r.timeout.is_zero() {
                add(
                    "redis.timeout".into(),
                    "must be more than 0 (default 100ms)".into(),
                );
            }
        }
    }
}

fn limit_problems(
    at: &str,
    limits: Vec<LimitSpec>,
    output_reserve: Option<u64>,
    add: &mut impl FnMut(String, String),
) {
    for l in &limits {
        if l.amount == 0 {
            add(
                format!("{at}.{}", l.field),
                "is 0, which refuses every request; remove it to set no limit".into(),
            );
        }
    }
    if let Some(reserve) = output_reserve
        && let Some(t) = limits
            .iter()
            .filter(|l| l.kind == LimitKind::Tokens)
            .find(|l| reserve > l.amount)
    {
        add(
            format!("{at}.outputReserve"),
            format!(
                "{reserve} is more than {} ({}), so no request without max_tokens could ever fit",
                t.field, t.amount
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        match Config::from_yaml(yaml, "t.yaml") {
            Ok(_) => Vec::new(),
            Err(e) => e
                .problems
                .into_iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect(),
        }
    }

    #[test]
    fn limits_rules_budgets_prices_and_redis_parse() {
        let yaml = r#"
providers: [{ id: p, type: openai, apiTokens: ["sk-x"] }]
consumers:
  - name: team-a
    keys: ["k-team-a"]
    limits: { requestsPerMinute: 600, tokensPerMinute: 200000, tokensPerDay: 5000000, outputReserve: 512 }
    budget: { usd: 100, period: 30d }
rateLimits:
  - name: per-user
    by: header:X-User-Id
    tokensPerMinute: 20000
    outputReserve: 256
prices:
  "gpt-4o-mini": { input: 0.15, output: 0.60, cachedInput: 0.075 }
redis: { url: "redis://:hunter2@127.0.0.1:6379/0", onError: deny, timeout: 50ms }
"#;
        let cfg = match Config::from_yaml(yaml, "t.yaml") {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let c = &cfg.consumers[0];
        let Some(l) = &c.limits else { panic!("limits") };
        let specs = l.limits();
        assert_eq!(specs.len(), 3);
        assert_eq!(
            specs[0],
            LimitSpec {
                field: "requestsPerMinute",
                kind: LimitKind::Requests,
                window: LimitWindow::Minute,
                amount: 600
            }
        );
        assert_eq!(l.output_reserve, Some(512));
        let Some(b) = &c.budget else { panic!("budget") };
        assert_eq!(b.period, Duration::from_secs(30 * 86_400));
        let r = &cfg.rate_limits[0];
        assert_eq!(
            LimitBy::parse(&r.by),
            Ok(LimitBy::Header("x-user-id".into()))
        );
        assert_eq!(r.limits()[0].amount, 20_000);
        assert_eq!(cfg.prices["gpt-4o-mini"].cached_input, Some(0.075));
        let Some(redis) = &cfg.redis else {
            panic!("redis")
        };
        assert_eq!(redis.on_error, OnStoreError::Deny);
        assert_eq!(redis.timeout, Duration::from_millis(50));
        assert_eq!(redis.key_prefix, "switchyard");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redis://:***@127.0.0.1:6379/0"), "{shown}");
    }

    #[test]
    fn bad_limits_are_named_with_what_to_do() {
        let got = problems(
            r#"
consumers:
  - name: a
    keys: ["k"]
    limits: { tokensPerMinute: 100, outputReserve: 500, requestsPerSecond: 0 }
    budget: { usd: -1, period: 10s }
rateLimits:
  - { name: r, by: cookie:x }
  - { name: r, by: "header:bad header", tokensPerMinutes: 1 }
redis: { url: "http://x" }
"#,
        );
        let text = got.join("\n");
        // The unknown field stops parsing first, with its line.
        assert!(text.contains("tokensPerMinutes"), "{text}");
        let got = problems(
            r#"
providers: [{ id: p, type: openai, apiTokens: ["sk-x"] }]
consumers:
  - name: a
    keys: ["k"]
    limits: { tokensPerMinute: 100, outputReserve: 500, requestsPerSecond: 0 }
    budget: { usd: -1, period: 10s }
rateLimits:
  - { name: r, by: cookie:x }
  - { name: r, by: "header:bad header" }
prices: { "m": { input: -1, output: 1 } }
redis: { url: "http://x", timeout: 0 }
"#,
        );
        let want = [
            "consumers[0] (a).limits.requestsPerSecond: is 0",
            "consumers[0] (a).limits.outputReserve: 500 is more than tokensPerMinute (100)",
            "consumers[0] (a).budget.usd: must be a positive number",
            "consumers[0] (a).budget.period: must be at least 1m",
            "rateLimits[0] (r).by: `cookie:x` is not a key to count by",
            "rateLimits[0] (r): sets no limit",
            "rateLimits[1] (r).name: duplicate rule name `r`",
            "rateLimits[1] (r).by: `bad header` is not a valid header name",
            "prices.m.input: must be a price",
            "redis.url: `http://x` is not a Redis URL",
            "redis.timeout: must be more than 0",
        ];
        let text = got.join("\n");
        for w in want {
            assert!(text.contains(w), "missing `{w}` in:\n{text}");
        }
    }

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            mask_url_password("redis://u:p@h:1/0"),
            "redis://u:***@h:1/0"
        );
        assert_eq!(mask_url_password("redis://p@h"), "redis://***@h");
        assert_eq!(mask_url_password("redis://h:1"), "redis://h:1");
    }
}
