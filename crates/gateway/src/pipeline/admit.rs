//! Admit: rate limits. Before the body is read, [`subjects`] finds the
//! limits that apply (the consumer's own, and each `rateLimits` rule whose
//! key the request carries); after parsing, [`admit`] reserves one request
//! and the tokens the request may use (its prompt's estimate plus
//! `max_tokens`, else `outputReserve`) in every window of every limit at
//! once, or refuses with 429 and charges nothing. A consumer with a budget
//! is first checked to be below it (429 `insufficient_quota` otherwise).
//! `finish` settles the reservation with the real usage and adds the cost
//! to the budget. A request no limit or budget applies to does no work
//! here and touches no store.

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;
use serde::Deserialize;
use switchyard_config::LimitBy;
use switchyard_limits::{
    BudgetState, Demand, Limiter, RateHeaders, Reservation, ReserveError, Rule,
};
use switchyard_providers::{Api, Dialect};
use switchyard_store::Counters;
use tokio::time::Instant;

use super::RequestCtx;
use super::endpoint::query_param;
use super::parse::Parsed;
use crate::error::GatewayError;
use crate::runtime::Snapshot;
use crate::runtime::consumers::Consumer;
use crate::runtime::limits::{DEFAULT_OUTPUT_RESERVE, LimitSet};

/// The limits that apply to one request: `(rule index or None for the
/// consumer's own, counter key)`. Empty (no allocation) when none apply.
#[derive(Debug, Default)]
pub struct Subjects {
    keys: Vec<(Option<usize>, String)>,
    /// The consumer has a budget: its spend is checked, its cost added.
    budget: bool,
}

/// What admit decided, for `finish`: the `x-ratelimit-*` figures of the
/// response, the reservation to settle when the answer ends, and the
/// consumer whose budget the request's cost goes to.
#[derive(Debug)]
pub struct Admission {
    pub headers: Option<RateHeaders>,
    pub reservation: Option<Reservation>,
    pub budget: Option<Arc<Consumer>>,
    pub limiter: Arc<Limiter<Counters>>,
}

impl Subjects {
    /// Some limit or a budget applies: the request is counted, and
    /// settled at its end.
    pub fn counted(&self) -> bool {
        !self.keys.is_empty() || self.budget
    }
}

/// Which limits apply, read from the request head (the body is not read
/// yet). A rule keyed by a header or query parameter the request does not
/// carry does not apply; its value is kept only as a hash.
pub fn subjects(
    snap: &Snapshot,
    ctx: &RequestCtx,
    headers: &HeaderMap,
    query: Option<&str>,
    peer: Option<IpAddr>,
) -> Subjects {
    let own = ctx.consumer.as_ref().and_then(|c| c.limits.as_ref());
    let budget = ctx.consumer.as_ref().is_some_and(|c| c.budget.is_some());
    if own.is_none() && snap.rate_rules.rules.is_empty() {
        return Subjects {
            keys: Vec::new(),
            budget,
        };
    }
    let mut keys = Vec::new();
    if let Some(l) = own {
        keys.push((None, l.key.to_string()));
    }
    for (i, rule) in snap.rate_rules.rules.iter().enumerate() {
        let value = match &rule.by {
            LimitBy::Consumer => ctx.consumer.as_ref().map(|c| c.name.to_string()),
            LimitBy::Ip => peer.map(|ip| ip.to_string()),
            LimitBy::Header(h) => headers.get(h.as_str()).map(|v| hashed(v.as_bytes())),
            LimitBy::Param(p) => query.and_then(|q| query_param(q, p)).map(|v| hashed(&v)),
        };
        if let Some(v) = value {
            keys.push((Some(i), format!("rule:{}:{v}", rule.name)));
        }
    }
    Subjects { keys, budget }
}

/// A client-supplied value as a counter key: the first 16 hex digits of
/// its SHA-256 (bounded length, any bytes, nothing readable in a store).
fn hashed(v: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, v);
    d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Check the consumer's budget, then reserve what the request may use in
/// every limit that applies.
pub async fn admit(
    limiter: &Arc<Limiter<Counters>>,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
    subjects: Subjects,
    request: &Parsed<'_>,
) -> Result<Option<Admission>, GatewayError> {
    if !subjects.counted() {
        return Ok(None);
    }
    let budget = match &ctx.consumer {
        Some(c) if subjects.budget => {
            check_budget(limiter, c).await?;
            Some(c.clone())
        }
        _ => None,
    };
    let reservation = if subjects.keys.is_empty() {
        None
    } else {
        Some(reserve(limiter, snap, ctx, &subjects, request).await?)
    };
    Ok(Some(Admission {
        headers: reservation.as_ref().map(Reservation::headers),
        reservation,
        budget,
        limiter: limiter.clone(),
    }))
}

/// 429 `insufficient_quota` once the period's spend has reached the cap.
async fn check_budget(limiter: &Limiter<Counters>, c: &Consumer) -> Result<(), GatewayError> {
    let Some(b) = &c.budget else {
        return Ok(());
    };
    match limiter
        .budget_state(&b.key, &b.budget, Instant::now())
        .await
    {
        Ok(BudgetState::Within { .. }) => Ok(()),
        Ok(BudgetState::Spent {
            spent_micro_usd,
            renews_in,
        }) => Err(GatewayError::QuotaExceeded {
            consumer: c.name.to_string(),
            budget_usd: b.usd,
            spent_usd: spent_micro_usd as f64 / 1e6,
            period: b.period.clone(),
            renews_in,
        }),
        Err(e) => Err(GatewayError::LimiterUnavailable(e.to_string())),
    }
}

async fn reserve(
    limiter: &Limiter<Counters>,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
    subjects: &Subjects,
    request: &Parsed<'_>,
) -> Result<Reservation, GatewayError> {
    let sets: Vec<&LimitSet> = subjects
        .keys
        .iter()
        .filter_map(|(rule, _)| match rule {
            None => ctx
                .consumer
                .as_ref()
                .and_then(|c| c.limits.as_ref())
                .map(|l| &l.set),
            Some(i) => snap.rate_rules.rules.get(*i).map(|r| &r.set),
        })
        .collect();
    let tokens = if sets.iter().any(|s| s.counts_tokens) {
        let reserve = sets
            .iter()
            .filter_map(|s| s.output_reserve)
            .max()
            .unwrap_or(DEFAULT_OUTPUT_RESERVE);
        estimate(request, reserve)
    } else {
        0
    };
    let rules: Vec<Rule<'_>> = subjects
        .keys
        .iter()
        .zip(&sets)
        .map(|((_, key), set)| Rule {
            key,
            limits: &set.limits,
        })
        .collect();
    match limiter
        .reserve(&rules, Demand::request(tokens), Instant::now())
        .await
    {
        Ok(reservation) => Ok(reservation),
        Err(ReserveError::Rejected(rejection)) => {
            let rule = rule_label(snap, subjects, &rejection.key);
            ctx.rate_headers = Some(rejection.headers);
            ctx.rec.rate_limited_by = Some(rule.clone());
            Err(GatewayError::RateLimited {
                rule,
                rejection,
                tokens,
            })
        }
        Err(ReserveError::Store(e)) => Err(GatewayError::LimiterUnavailable(e.to_string())),
    }
}

/// The rule a counter key belongs to: the rule's name, or `consumer` for a
/// consumer's own limits (the `{rule}` label: bounded, no client values).
fn rule_label(snap: &Snapshot, subjects: &Subjects, key: &str) -> Arc<str> {
    subjects
        .keys
        .iter()
        .find(|(_, k)| k == key)
        .and_then(|(rule, _)| *rule)
        .and_then(|i| snap.rate_rules.rules.get(i))
        .map_or_else(|| Arc::from("consumer"), |r| r.name.clone())
}

/// Tokens the request may use: its prompt's estimate plus `max_tokens`
/// (`max_completion_tokens`, Gemini's `maxOutputTokens`), else `reserve`.
fn estimate(request: &Parsed<'_>, reserve: u64) -> u64 {
    let model = request.model();
    match request.ingress.api {
        // The common case read without decoding the body.
        Api::ChatCompletions if request.ingress.dialect == Dialect::OpenAi => {
            match switchyard_tokens::estimate_openai_chat(request.body) {
                Some((prompt, max)) => prompt.saturating_add(max.unwrap_or(reserve)),
                None => estimate_decoded(request, reserve),
            }
        }
        Api::ChatCompletions | Api::Responses => estimate_decoded(request, reserve),
        Api::Completions => {
            let prompt = switchyard_tokens::count_prompt_json(model, "completions", request.body)
                .unwrap_or(request.body.len() as u64 / 4);
            let max = serde_json::from_slice::<MaxTokens>(request.body)
                .ok()
                .and_then(|m| m.max_tokens);
            prompt.saturating_add(max.unwrap_or(reserve))
        }
        Api::Embeddings => switchyard_tokens::count_prompt_json(model, "embeddings", request.body)
            .unwrap_or(request.body.len() as u64 / 4),
        // Media, files, batches, counting: one request; the tokens a
        // provider reports are settled at the end.
        Api::Models
        | Api::ImagesGenerations
        | Api::ImagesEdits
        | Api::AudioTranscriptions
        | Api::AudioTranslations
        | Api::AudioSpeech
        | Api::Moderations
        | Api::Rerank
        | Api::Files
        | Api::Batches
        | Api::CountTokens => 0,
    }
}

/// The decoded request's prompt estimate plus its `max_tokens`.
fn estimate_decoded(request: &Parsed<'_>, reserve: u64) -> u64 {
    match request.canonical() {
        Ok(chat) => {
            let prompt = switchyard_tokens::estimate_prompt(chat);
            prompt.saturating_add(chat.max_tokens.map_or(reserve, u64::from))
        }
        // Unreadable here is unreadable upstream too: the attempt reports
        // it; reserve by size meanwhile.
        Err(_) => (request.body.len() as u64 / 4).saturating_add(reserve),
    }
}

#[derive(Deserialize)]
struct MaxTokens {
    #[serde(default)]
    max_tokens: Option<u64>,
}
