//! Turning a finished record into numbers: tokens (the provider's, else an
//! estimate) and durations. Runs on the telemetry worker, never on the
//! request path.

use std::time::Duration;

use bytes::Bytes;
use switchyard_protocol::canonical::{ChatResponse, Part, StopReason, TokenUsage};
use switchyard_protocol::{anthropic, gemini, openai};
use switchyard_providers::{Api, Dialect};

use super::record::RequestRecord;
use super::tap::{OutputText, openai_stop_reason, token_usage};
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
    /// What `usage` cost in USD at the served model's price (else the
    /// requested model's); `None` when nothing served or neither model
    /// has a price.
    pub cost_usd: Option<f64>,
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
            .or(served.ended)
            .unwrap_or(ended)
            .saturating_duration_since(served.started),
    );
    a.interrupted = rec.body_error.clone();
    let mut reported: Option<TokenUsage> = None;
    let mut text = OutputText::default();
    if let Some(tap) = rec.tap.as_mut() {
        tap.settle();
        reported = tap.usage;
        a.chat_id = tap.chat_id.take();
        a.response_model = tap.response_model.take();
        a.finish_reason = tap.finish_reason.take();
        a.interrupted = tap.interrupted.take().or(a.interrupted.take());
        a.first_token = tap
            .first_token_at
            .map(|t| t.saturating_duration_since(rec.started));
        text = std::mem::take(&mut tap.text);
    } else if !rec.response_tail.is_empty() {
        // Too large to keep whole: the usage is in its last bytes.
        let tail: Vec<Bytes> = rec.response_tail.iter().cloned().collect();
        reported = usage_in_tail(rec.client, &joined(&tail));
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
    a.cost_usd = cost_of(rec, &usage);
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

/// The usage of a finished non-streamed answer, read from its captured end
/// alone (a scan for the usage object, no parse of the answer): what
/// settling a reservation needs on the request path. `None` where that is
/// not enough (streams, no usage, no input count): then [`account`].
pub fn quick_usage(rec: &RequestRecord) -> Option<TokenUsage> {
    if rec.stream || rec.tap.is_some() {
        return None;
    }
    if rec.served().is_none() {
        return Some(TokenUsage::default());
    }
    let end = match rec.response_tail.as_slices() {
        ([], _) => joined(&rec.response_body),
        (front, []) => joined(front),
        _ => joined(&rec.response_tail.iter().cloned().collect::<Vec<_>>()),
    };
    usage_in_tail(rec.client, &end).filter(|u| u.input_tokens > 0)
}

/// What `usage` of the served model cost, if it has a price (the model
/// sent upstream first, then the requested one).
pub fn cost_of(rec: &RequestRecord, usage: &TokenUsage) -> Option<f64> {
    let model = &rec.served()?.model;
    rec.prices
        .as_ref()
        .and_then(|t| t.lookup(model, rec.requested_model.as_deref()))
        .map(|p| p.cost(usage))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_from_the_end_of_large_answers() {
        let openai = br#"0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8000,"total_tokens":8000}}"#;
        let u = usage_in_tail(Dialect::OpenAi, openai).unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (8000, 0));
        let claude = br#"lots of text"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"cache_read_input_tokens":5,"output_tokens":9000}}"#;
        let u = usage_in_tail(Dialect::Anthropic, claude).unwrap();
        assert_eq!(u.output_tokens, 9000);
        assert!(u.input_tokens >= 12);
        let gemini = br#"text"}]}}],"usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":7000,"totalTokenCount":7040}}"#;
        let u = usage_in_tail(Dialect::Gemini, gemini).unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (40, 7000));
        assert_eq!(usage_in_tail(Dialect::OpenAi, b"no usage here"), None);
        assert_eq!(
            usage_in_tail(Dialect::OpenAi, br#""usage":{"prompt_tok"#),
            None
        );
    }

    #[test]
    fn a_cut_request_body_is_estimated_by_length() {
        use super::super::record::REQUEST_KEEP;
        let text = "hello world, ".repeat(200_000);
        let whole =
            format!(r#"{{"model":"claude-x","messages":[{{"role":"user","content":"{text}"}}]}}"#);
        let body = Bytes::from(whole.clone());
        assert!(body.len() > REQUEST_KEEP);
        let mut rec = RequestRecord::new(
            http::HeaderValue::from_static("t"),
            http::Method::POST,
            "/v1/chat/completions",
            Dialect::OpenAi,
        );
        rec.api = Some(Api::ChatCompletions);
        rec.keep_request_body(&body);
        let cut = estimate_input(&rec, "claude-x").unwrap();
        let exact = switchyard_tokens::count_text("claude-x", &text);
        // Within 2% of the count of the whole text.
        let diff = cut.abs_diff(exact) as f64 / exact as f64;
        assert!(diff < 0.02, "cut {cut}, whole text {exact}");
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
    if api.is_some_and(is_media) {
        // Only what the provider reports: images, audio and rerank
        // answers hold no text to count (token counts are no usage).
        out.usage = switchyard_protocol::usage::passthrough_usage(body).map(token_usage);
        return out;
    }
    match (client, api) {
        (Dialect::OpenAi | Dialect::Bedrock, api) => {
            // Where the fields usually are, without a parse (most answers).
            if let Some(p) = super::peek::openai_answer(body)
                && let Some(usage) = switchyard_protocol::usage::parse_usage_object(p.usage)
                    .map(token_usage)
                    .filter(super::tap::reported)
            {
                out.id = p.id.map(Into::into);
                out.model = p.model.map(Into::into);
                out.finish = p.finish_reason.map(|r| openai_stop_reason(r.as_bytes()));
                out.usage = Some(usage);
                return out;
            }
            // One light pass: id, model, finish reason and usage; the text
            // is only read when there is no usage to count it from. Strings
            // are borrowed from the answer (a `Cow` inside an `Option` is
            // not, hence `Text`), so the pass allocates only the choices.
            #[derive(serde::Deserialize)]
            struct Text<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);
            #[derive(serde::Deserialize)]
            struct Light<'a> {
                #[serde(borrow)]
                id: Option<Text<'a>>,
                #[serde(borrow)]
                model: Option<Text<'a>>,
                #[serde(default, borrow)]
                choices: Vec<LightChoice<'a>>,
                #[serde(borrow)]
                usage: Option<&'a serde_json::value::RawValue>,
            }
            #[derive(serde::Deserialize)]
            struct LightChoice<'a> {
                #[serde(borrow)]
                finish_reason: Option<Text<'a>>,
                #[serde(default, borrow)]
                text: Option<Text<'a>>,
            }
            let Ok(l) = serde_json::from_slice::<Light<'_>>(body) else {
                return out;
            };
            out.id = l.id.map(|t| t.0.into());
            out.model = l.model.map(|t| t.0.into());
            out.finish = l
                .choices
                .first()
                .and_then(|c| c.finish_reason.as_ref())
                .map(|r| openai_stop_reason(r.0.as_bytes()));
            out.usage = l
                .usage
                .and_then(|u| switchyard_protocol::usage::parse_usage_object(u.get().as_bytes()))
                .map(token_usage);
            if out.usage.is_none() {
                if api == Some(Api::ChatCompletions) {
                    if let Ok(r) = openai::decode_response(body) {
                        fill(&mut out, r);
                    }
                } else {
                    for c in &l.choices {
                        out.text.push(c.text.as_ref().map_or("", |t| &t.0));
                    }
                }
            }
        }
        (Dialect::Anthropic, _) => {
            if let Ok(r) = anthropic::decode_response(body) {
                out.usage = Some(r.usage);
                fill(&mut out, r);
            }
        }
        (Dialect::Responses, _) => {
            if let Ok(r) = switchyard_protocol::responses::decode_response(body) {
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
    out.usage = out.usage.filter(super::tap::reported);
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

/// The usage object in the last bytes of a whole answer, read by the
/// dialect's own decoder.
fn usage_in_tail(client: Dialect, tail: &[u8]) -> Option<TokenUsage> {
    use memchr::memmem::FinderRev;
    use std::sync::LazyLock;
    // Built once, not for every answer.
    static GEMINI: LazyLock<FinderRev<'static>> =
        LazyLock::new(|| FinderRev::new(b"\"usageMetadata\""));
    let key = match client {
        Dialect::Gemini => &*GEMINI,
        _ => &*super::peek::USAGE,
    };
    let at = key.rfind(tail)? + key.needle().len();
    let skip = tail[at..]
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b':'))?;
    let rest = &tail[at + skip..];
    let obj: &serde_json::value::RawValue = serde_json::Deserializer::from_slice(rest)
        .into_iter::<&serde_json::value::RawValue>()
        .next()?
        .ok()?;
    let obj = obj.get();
    let u = match client {
        Dialect::OpenAi | Dialect::Bedrock => {
            switchyard_protocol::usage::parse_usage_object(obj.as_bytes()).map(token_usage)
        }
        Dialect::Anthropic => anthropic::decode_response(
            format!(
                r#"{{"id":"","type":"message","role":"assistant","model":"","content":[],"stop_reason":"end_turn","usage":{obj}}}"#
            )
            .as_bytes(),
        )
        .ok()
        .map(|r| r.usage),
        Dialect::Gemini => gemini::decode_response(
            format!(r#"{{"candidates":[],"usageMetadata":{obj}}}"#).as_bytes(),
        )
        .ok()
        .map(|r| r.usage),
        Dialect::Responses => {
            switchyard_protocol::responses::decode_response(format!(r#"{{"usage":{obj}}}"#).as_bytes())
                .ok()
                .map(|r| r.usage)
        }
    };
    u.filter(super::tap::reported)
}

/// The pass-through APIs (images, audio, rerank, files, counting): usage
/// is what the provider reports, never an estimate (a request may be an
/// audio upload).
fn is_media(api: Api) -> bool {
    api.passthrough()
}

/// Prompt tokens of the request, counted by the tokenizer.
fn estimate_input(rec: &RequestRecord, model: &str) -> Option<u64> {
    if rec.api.is_none_or(is_media) {
        return None;
    }
    let body = rec.request_body.as_ref()?;
    if rec.request_body_cut() {
        return estimate_cut(rec, body, model);
    }
    match rec.api? {
        Api::ChatCompletions | Api::Responses => {
            let path_model = rec.requested_model.as_deref().unwrap_or(model);
            let req = translate::decode_request(rec.client, body, path_model, rec.stream).ok()?;
            Some(switchyard_tokens::count_prompt(model, &req))
        }
        Api::Completions => switchyard_tokens::count_prompt_json(model, "completions", body),
        Api::Embeddings => switchyard_tokens::count_prompt_json(model, "embeddings", body),
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
        | Api::CountTokens => None,
    }
}

/// A body too large to keep whole (see `RequestRecord::keep_request_body`):
/// the text of its kept prefix, JSON included, counted and scaled by the
/// whole length. Rough (inline images count as text), and marked estimated
/// like every estimate.
fn estimate_cut(rec: &RequestRecord, prefix: &Bytes, model: &str) -> Option<u64> {
    if matches!(rec.api?, Api::Models) || prefix.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(prefix);
    let n = switchyard_tokens::count_text(model, &text) as u128;
    let scaled = n * rec.request_body_len as u128 / prefix.len() as u128;
    Some(u64::try_from(scaled).unwrap_or(u64::MAX))
}
