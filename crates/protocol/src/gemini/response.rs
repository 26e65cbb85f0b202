//! `GenerateContentResponse` bodies and Google error bodies to and from
//! canonical.

use serde_json::{Map, Value, json};

use super::wire::{
    PartDecoder, Strictness, WResponse, code_for_kind, encode_parts, error_from_value, error_json,
    format_rfc3339, parse_rfc3339, stop_reason_from, stop_reason_to, usage_json,
};
use crate::canonical::{ChatResponse, ConvertError, Part, StopReason, StreamError};

/// A provider's `GenerateContentResponse` as canonical. Only the first
/// candidate is read.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ConvertError> {
    let w: WResponse = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid GenerateContentResponse: {e}")))?;
    if let Some(e) = &w.error {
        let err = error_from_value(e, None);
        return Err(ConvertError::new("error", err.message));
    }
    let mut content = Vec::new();
    let mut stop_reason = StopReason::Stop;
    match w.candidates.into_iter().next() {
        Some(c) => {
            let mut dec = PartDecoder::for_response(w.response_id.as_deref());
            for p in c.content.map(|c| c.parts).unwrap_or_default() {
                dec.part(p, &mut content);
            }
            if let Some(r) = c.finish_reason {
                stop_reason = stop_reason_from(&r);
            }
        }
        None => {
            if w.prompt_feedback.and_then(|f| f.block_reason).is_some() {
                stop_reason = StopReason::ContentFilter;
            }
        }
    }
    if stop_reason == StopReason::Stop && content.iter().any(|p| matches!(p, Part::ToolCall { .. }))
    {
        stop_reason = StopReason::ToolCalls;
    }
    Ok(ChatResponse {
        id: w.response_id.unwrap_or_default(),
        model: w.model_version.unwrap_or_default(),
        created: w
            .create_time
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or(0),
        content,
        stop_reason,
        usage: w.usage_metadata.map(|u| u.canonical()).unwrap_or_default(),
    })
}

/// A canonical response as a `GenerateContentResponse` for a Gemini client.
pub fn encode_response(resp: &ChatResponse) -> Vec<u8> {
    let never = |_: &str| None;
    let parts =
        encode_parts(&resp.content, "content", Strictness::Lenient, &never).unwrap_or_default();
    let mut cand = Map::new();
    if !parts.is_empty() {
        cand.insert("content".into(), json!({"role": "model", "parts": parts}));
    }
    cand.insert(
        "finishReason".into(),
        stop_reason_to(resp.stop_reason).into(),
    );
    cand.insert("index".into(), 0.into());
    let mut body = Map::new();
    body.insert("candidates".into(), json!([cand]));
    body.insert("usageMetadata".into(), usage_json(&resp.usage));
    if !resp.model.is_empty() {
        body.insert("modelVersion".into(), resp.model.clone().into());
    }
    if !resp.id.is_empty() {
        body.insert("responseId".into(), resp.id.clone().into());
    }
    if resp.created > 0 {
        body.insert("createTime".into(), format_rfc3339(resp.created).into());
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// A provider error body (`{"error":{"code","message","status"}}`, the same
/// wrapped in a one-element array, or anything else, or nothing) as
/// canonical. The kind comes from the Google `status` when it has one.
pub fn decode_error(status: u16, body: &[u8]) -> StreamError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let v = match v {
        Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        v => v,
    };
    if let Some(e) = v.get("error").filter(|e| e.is_object()) {
        return error_from_value(e, Some(status));
    }
    let text: String = String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(500)
        .collect();
    let message = if text.is_empty() {
        json!({})
    } else {
        json!({ "message": text })
    };
    error_from_value(&message, Some(status))
}

/// A canonical error as a Google error body; `code` is the HTTP status the
/// client receives.
pub fn encode_error(status: u16, err: &StreamError) -> Vec<u8> {
    let code = if status == 0 {
        err.status.unwrap_or_else(|| code_for_kind(&err.kind))
    } else {
        status
    };
    serde_json::to_vec(&error_json(code, err)).unwrap_or_default()
}
