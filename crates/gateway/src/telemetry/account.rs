//! Turning a finished record into numbers: tokens (the provider's, else an
//! estimate) and durations. Runs on the telemetry worker, never on the
//! request path.

use std::time::Duration;

use bytes::Bytes;
use switchyard_protocol::canonical::{ChatResponse, Part, StopReason, TokenUsage};
use switchyard_protocol::usage::find_usage;
use switchyard_protocol::{anthropic, gemini, openai};
use switchyard_providers::{Api, Dialect};

use super::record::RequestRecord;
use super::tap::OutputText;
use crate::translate;

/// What a request cost and how long it took.
#[derive(Debug, Default)]
pub struct Accounted {
    pub usage: TokenUsage,
    /// Some count came from the tokenizer, not the provider.
    pub estimated: bool,
    pub chat_id: Option<String>,
    pub response_model: Option<String>,
    pub finish_reason: Option<StopReason>,
    pub total: Duration,
    /// From the request's arrival to the first generated token (streams).
    pub first_token: Option<Duration>,
    /// The serving provider's time: its attempt's start to its answer's end.
    pub service: Option<Duration>,
    /// Time spent in the gateway itself: total minus every upstream wait.
    pub overhead: Duration,
    /// Generation time per output token after the first (streams).
    pub per_output_token: Option<Duration>,
    /// The stream broke mid-way (what the client was told).
    pub interrupted: Option<String>,
}

pub fn account(rec: &mut RequestRecord) -> Accounted {
    let ended = rec.ended.unwrap_or(rec.started);
    let mut a = Accounted {
        total: ended.saturating_duration_since(rec.started),
        overhead: rec.overhead(ended),
        ..Accounted::default()
    };
    let Some(served) = rec.served() else {
        return a;
    };
    let model = served.model.clone();
    a.service = Some(
        rec.upstream_end
            .unwrap_or(ended)
            .saturating_duration_since(served.started),
    );
    let mut reported: Option<TokenUsage> = None;
    let mut text = OutputText::default();
    if let Some(tap) = rec.tap.as_mut() {
        tap.settle();
        reported = tap.usage;
        a.chat_id = tap.chat_id.take();
        a.response_model = tap.response_model.take();
        a.finish_reason = tap.finish_reason.take();
        a.interrupted = tap.interrupted.take();
        a.first_token = tap
            .first_token_at
            .map(|t| t.saturating_duration_since(rec.started));
        text = std::mem::take(&mut tap.text);
    } else if !rec.response_body.is_empty() {
        let body = joined(&rec.response_body);
        let r = read_answer(rec.client, rec.api, &body);
        reported = r.usage;
        a.chat_id = r.id;
        a.response_model = r.model;
        a.finish_reason = r.finish;
        text = r.text;
    }
    let mut usage = reported.unwrap_or_default();
    if usage.input_tokens == 0 {
        if let Some(n) = estimate_input(rec, &model) {
            usage.input_tokens = n;
            a.estimated |= n > 0;
        }
    }
    if usage.output_tokens == 0 && (!text.text.is_empty() || text.overflow_chars > 0) {
        let n = switchyard_tokens::count_text(&model, &text.text) + text.overflow_chars.div_ceil(4);
        usage.output_tokens = n;
        a.estimated |= n > 0;
    }
    a.usage = usage;
    if rec.stream
        && let (Some(first), Some(end), true) = (
            rec.tap.as_ref().and_then(|t| t.first_token_at),
            rec.upstream_end,
            usage.output_tokens > 1,
        )
    {
        let gen_time = end.saturating_duration_since(first);
        a.per_output_token = Some(gen_time / (usage.output_tokens - 1).min(u32::MAX as u64) as u32);
    }
    a
}

fn joined(parts: &[Bytes]) -> Bytes {
    match parts {
        [one] => one.clone(),
        many => {
            let mut v = Vec::with_capacity(many.iter().map(Bytes::len).sum());
            for p in many {
                v.extend_from_slice(p);
            }
            Bytes::from(v)
        }
    }
}

#[derive(Default)]
struct Answer {
    usage: Option<TokenUsage>,
    id: Option<String>,
    model: Option<String>,
    finish: Option<StopReason>,
    text: OutputText,
}

/// Usage, id and text of a whole answer in the client's dialect.
fn read_answer(client: Dialect, api: Option<Api>, body: &[u8]) -> Answer {
    let mut out = Answer::default();
    match (client, api) {
        (Dialect::OpenAi, Some(Api::ChatCompletions)) | (Dialect::Bedrock, _) => {
            out.usage = find_usage(body).map(|u| from_openai(u.usage));
            if let Ok(r) = openai::decode_response(body) {
                fill(&mut out, r);
            }
        }
        (Dialect::OpenAi, _) => {
            // Completions and embeddings: usage, id and the completion text.
            out.usage = find_usage(body).map(|u| from_openai(u.usage));
            #[derive(serde::Deserialize)]
            struct Legacy {
                id: Option<String>,
                model: Option<String>,
                #[serde(default)]
                choices: Vec<LegacyChoice>,
            }
            #[derive(serde::Deserialize)]
            struct LegacyChoice {
                #[serde(default)]
                text: String,
            }
            if let Ok(l) = serde_json::from_slice::<Legacy>(body) {
                out.id = l.id;
                out.model = l.model;
                for c in &l.choices {
                    out.text.push(&c.text);
                }
            }
        }
        (Dialect::Anthropic, _) => {
            if let Ok(r) = anthropic::decode_response(body) {
                out.usage = Some(r.usage);
                fill(&mut out, r);
            }
        }
        (Dialect::Gemini, _) => {
            if let Ok(r) = gemini::decode_response(body) {
                out.usage = Some(r.usage);
                fill(&mut out, r);
            }
        }
    }
    out.usage = out
        .usage
        .filter(|u| u.input_tokens != 0 || u.output_tokens != 0);
    out
}

fn fill(out: &mut Answer, r: ChatResponse) {
    out.id = Some(r.id).filter(|s| !s.is_empty());
    out.model = Some(r.model).filter(|s| !s.is_empty());
    out.finish = Some(r.stop_reason);
    for p in &r.content {
        match p {
            Part::Text { text } | Part::Thinking { text, .. } => out.text.push(text),
            Part::ToolCall {
                name, arguments, ..
            } => {
                out.text.push(name);
                out.text.push(arguments);
            }
            _ => {}
        }
    }
}

fn from_openai(u: switchyard_protocol::Usage) -> TokenUsage {
    TokenUsage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cached_tokens: u.cached_tokens,
        cache_creation_tokens: 0,
        reasoning_tokens: u.reasoning_tokens,
    }
}

/// Prompt tokens of the request, counted by the tokenizer.
fn estimate_input(rec: &RequestRecord, model: &str) -> Option<u64> {
    let body = rec.request_body.as_ref()?;
    match rec.api? {
        Api::ChatCompletions => {
            let path_model = rec.requested_model.as_deref().unwrap_or(model);
            let req = translate::decode_request(rec.client, body, path_model, rec.stream).ok()?;
            Some(switchyard_tokens::count_prompt(model, &req))
        }
        Api::Completions => switchyard_tokens::count_prompt_json(model, "completions", body),
        Api::Embeddings => switchyard_tokens::count_prompt_json(model, "embeddings", body),
        Api::Models => None,
    }
}
