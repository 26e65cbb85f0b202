//! Google error objects (`{"error": {"code", "message", "status"}}`) to and
//! from canonical, and the mapping between Google `status` strings, HTTP
//! codes and canonical error kinds.

use serde_json::{Value, json};

use crate::canonical::StreamError;
use crate::dialect::status_kind;

/// A Google error object (`{"code","message","status"}`) in canonical form.
pub(crate) fn error_from_value(e: &Value, http_status: Option<u16>) -> StreamError {
    let code = e
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    let status = http_status.filter(|s| *s != 0).or(code);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| match status {
            Some(s) => format!("HTTP {s}"),
            None => "upstream error".to_string(),
        });
    let kind = e
        .get("status")
        .and_then(Value::as_str)
        .and_then(kind_from_google_status)
        .unwrap_or_else(|| status_kind(status.unwrap_or(500)));
    StreamError {
        status,
        kind: kind.to_string(),
        message,
    }
}

fn kind_from_google_status(s: &str) -> Option<&'static str> {
    Some(match s {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" | "NOT_FOUND" => {
            "invalid_request_error"
        }
        "UNAUTHENTICATED" => "authentication_error",
        "PERMISSION_DENIED" => "permission_error",
        "RESOURCE_EXHAUSTED" => "rate_limit_error",
        "UNAVAILABLE" => "overloaded_error",
        "INTERNAL" | "UNKNOWN" | "DEADLINE_EXCEEDED" => "api_error",
        _ => return None,
    })
}

/// The Google `status` string for an HTTP status, or from the canonical
/// kind when the status has no standard mapping.
pub(crate) fn google_status(code: u16, kind: &str) -> &'static str {
    match code {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => match kind {
            "invalid_request_error" => "INVALID_ARGUMENT",
            "authentication_error" => "UNAUTHENTICATED",
            "permission_error" => "PERMISSION_DENIED",
            "rate_limit_error" => "RESOURCE_EXHAUSTED",
            "overloaded_error" => "UNAVAILABLE",
            _ => "INTERNAL",
        },
    }
}

/// An HTTP-like code for a canonical error that has none.
pub(crate) fn code_for_kind(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "rate_limit_error" => 429,
        "overloaded_error" => 503,
        _ => 500,
    }
}

pub(crate) fn error_json(code: u16, err: &StreamError) -> Value {
    json!({"error": {
        "code": code,
        "message": err.message,
        "status": google_status(code, &err.kind),
    }})
}
