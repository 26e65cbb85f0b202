//! Limits compiled for the request path: each consumer's own limits and
//! the `rateLimits` rules, as `switchyard_limits::Limit`s with their keys.
//! Counting happens in `Shared`'s limiter; this is only what to count.

use std::sync::Arc;

use switchyard_config::{Config, LimitBy, LimitKind, LimitSpec, LimitWindow};
use switchyard_limits::{Budget, Kind, Limit, Per};

use super::BuildError;

/// Tokens reserved for the answer when a request gives no `max_tokens` and
/// no rule that applies sets `outputReserve`.
pub const DEFAULT_OUTPUT_RESERVE: u64 = 256;

/// Limits counted under one key (a consumer, or a rule's value).
#[derive(Debug, Clone)]
pub struct LimitSet {
    pub limits: Vec<Limit>,
    /// `outputReserve`, if set.
    pub output_reserve: Option<u64>,
    /// Some limit counts tokens (then the request's tokens are estimated).
    pub counts_tokens: bool,
}

impl LimitSet {
    fn new(specs: Vec<LimitSpec>, output_reserve: Option<u64>) -> Option<LimitSet> {
        if specs.is_empty() {
            return None;
        }
        let limits: Vec<Limit> = specs.iter().map(limit_of).collect();
        Some(LimitSet {
            counts_tokens: limits.iter().any(|l| l.kind == Kind::Tokens),
            limits,
            output_reserve,
        })
    }
}

/// One `rateLimits` rule.
#[derive(Debug)]
pub struct RateRule {
    pub name: Arc<str>,
    pub by: LimitBy,
    pub set: LimitSet,
}

/// A consumer's limits, counted under `consumer:<name>` over all its keys.
#[derive(Debug)]
pub struct ConsumerLimits {
    pub key: Box<str>,
    pub set: LimitSet,
}

/// A consumer's `budget`, counted under `budget:<name>`.
#[derive(Debug)]
pub struct ConsumerBudget {
    pub key: Box<str>,
    pub budget: Budget,
    pub usd: f64,
    /// The period as configured (`30d`), for messages.
    pub period: String,
}

/// A consumer's `budget`, if it has one.
pub fn consumer_budget(
    name: &str,
    cfg: &switchyard_config::ConsumerConfig,
) -> Option<ConsumerBudget> {
    let b = cfg.budget.as_ref()?;
    Some(ConsumerBudget {
        key: format!("budget:{name}").into(),
        budget: Budget::new(b.usd, b.period),
        usd: b.usd,
        period: describe_period(b.period),
    })
}

/// `30d`, `12h`, `90m`, `45s`: the largest unit that divides the period.
fn describe_period(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Every rule of the configuration.
#[derive(Debug, Default)]
pub struct RateRules {
    pub rules: Vec<RateRule>,
    /// Some rule counts by client address.
    pub needs_ip: bool,
}

impl RateRules {
    pub fn build(cfg: &Config) -> Result<RateRules, BuildError> {
        let mut rules = Vec::with_capacity(cfg.rate_limits.len());
        for r in &cfg.rate_limits {
            let by = LimitBy::parse(&r.by)
                .map_err(|e| BuildError(format!("rateLimits `{}`: {e}", r.name)))?;
            let Some(set) = LimitSet::new(r.limits(), r.output_reserve) else {
                return Err(BuildError(format!("rateLimits `{}` sets no limit", r.name)));
            };
            rules.push(RateRule {
                name: Arc::from(r.name.as_str()),
                by,
                set,
            });
        }
        Ok(RateRules {
            needs_ip: rules.iter().any(|r| r.by == LimitBy::Ip),
            rules,
        })
    }
}

/// A consumer's `limits`, if it has any.
pub fn consumer_limits(
    name: &str,
    cfg: &switchyard_config::ConsumerConfig,
) -> Option<ConsumerLimits> {
    let l = cfg.limits.as_ref()?;
    Some(ConsumerLimits {
        key: format!("consumer:{name}").into(),
        set: LimitSet::new(l.limits(), l.output_reserve)?,
    })
}

fn limit_of(s: &LimitSpec) -> Limit {
    let per = match s.window {
        LimitWindow::Second => Per::Second,
        LimitWindow::Minute => Per::Minute,
        LimitWindow::Hour => Per::Hour,
        LimitWindow::Day => Per::Day,
    };
    match s.kind {
        LimitKind::Requests => Limit::requests(per, s.amount),
        LimitKind::Tokens => Limit::tokens(per, s.amount),
    }
}
