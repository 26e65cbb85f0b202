//! The access log: one JSON line per request, written by the telemetry
//! worker to stdout, stderr or a file. Field names follow the reference
//! gateway's (`input_token`, `llm_first_token_duration`, ...); durations
//! are milliseconds. Credentials never appear: attempts carry the masked
//! form only, and bodies only with `log.bodies`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::account::Accounted;
use super::record::RequestRecord;
use crate::runtime::BuildError;

/// Each worker gathers lines in a block of about this size and writes the
/// block at once (sooner after a pause in traffic, or for a scrape).
pub const BUFFER: usize = 64 * 1024;

/// Where the access log goes, shared by the telemetry workers. Each worker
/// writes whole-line blocks, one at a time under the lock: lines from
/// several workers never interleave (a file is opened for appending, so a
/// block is one `write` and another process appending to the same file
/// does not cut it either; stdout and stderr are written under the same
/// lock).
pub struct Sink {
    out: Mutex<Box<dyn Write + Send>>,
    failed: AtomicBool,
}

impl Sink {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Sink {
            out: Mutex::new(out),
            failed: AtomicBool::new(false),
        }
    }

    /// Write a block of whole lines (a worker's, at once); the first
    /// failure is logged.
    pub fn write_block(&self, block: &[u8]) {
        if block.is_empty() {
            return;
        }
        let written = {
            let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
            out.write_all(block).and_then(|()| out.flush())
        };
        if let Err(e) = written
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(error = %e, "cannot write the access log");
        }
    }
}

/// Open `log.access`: `stdout`, `stderr`, `off`, or a file (appended to).
pub fn open(access: &str) -> Result<Option<Sink>, BuildError> {
    Ok(match access {
        "off" | "false" | "none" => None,
        "stdout" | "-" => Some(Sink::new(Box::new(std::io::stdout()))),
        "stderr" => Some(Sink::new(Box::new(std::io::stderr()))),
        path => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| BuildError(format!("log.access: cannot open `{path}`: {e}")))?;
            Some(Sink::new(Box::new(f)))
        }
    })
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    api: Option<&'static str>,
    /// The model that served (as sent upstream).
    model: Option<&'a str>,
    requested_model: Option<&'a str>,
    response_model: Option<&'a str>,
    provider: Option<&'a str>,
    route: Option<&'a str>,
    consumer: Option<&'a str>,
    status: u16,
    response_type: &'static str,
    input_token: u64,
    output_token: u64,
    total_token: u64,
    cached_token: u64,
    reasoning_token: u64,
    token_estimated: bool,
    /// USD at the model's price; null when it has none (or none served).
    cost_usd: Option<f64>,
    duration: f64,
    llm_first_token_duration: Option<f64>,
    llm_service_duration: Option<f64>,
    gateway_overhead: f64,
    attempts: Vec<Attempt<'a>>,
    fallback_from: Option<&'a str>,
    chat_id: Option<&'a str>,
    finish_reason: Option<&'static str>,
    error: Option<String>,
    client_disconnected: bool,
    trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_body: Option<String>,
}

#[derive(Serialize)]
struct Attempt<'a> {
    provider: &'a str,
    credential: &'a str,
    model: &'a str,
    status: Option<u16>,
    error: Option<&'a str>,
    duration: f64,
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Write one line for `rec` (newline included) into `out`.
pub fn write_line(
    out: &mut Vec<u8>,
    rec: &RequestRecord,
    acc: &Accounted,
    body_limit: Option<usize>,
) -> std::io::Result<()> {
    let served = rec.served();
    let ended = rec.ended.unwrap_or(rec.started);
    let attempts = rec
        .attempts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let end = match (i + 1 == rec.attempts.len(), rec.upstream_end) {
                (true, Some(e)) if a.failure.is_none() => e,
                _ => a.ended.unwrap_or(ended),
            };
            Attempt {
                provider: &a.provider,
                credential: &a.credential,
                model: &a.model,
                status: a.status,
                error: a.failure.as_ref().map(|(_, m)| m.as_str()),
                duration: ms(end.saturating_duration_since(a.started)),
            }
        })
        .collect();
    let error = match (&rec.error, &acc.interrupted) {
        (Some((code, msg)), _) => Some(format!("{code}: {msg}")),
        (None, Some(m)) if rec.stream => Some(format!("stream_interrupted: {m}")),
        (None, Some(m)) => Some(format!("body_interrupted: {m}")),
        (None, None) if rec.status >= 400 => rec
            .attempts
            .last()
            .and_then(|a| a.failure.as_ref())
            .map(|(_, m)| m.clone()),
        _ => None,
    };
    let u = acc.usage;
    let line = Line {
        time: rfc3339(rec.started_wall),
        request_id: rec.request_id.to_str().unwrap_or(""),
        method: rec.method.as_str(),
        path: &rec.path,
        api: rec.api.map(|a| a.name()),
        model: served.map(|a| &*a.model),
        requested_model: rec.requested_model.as_deref(),
        response_model: acc.response_model.as_deref(),
        provider: served.or(rec.attempts.last()).map(|a| &*a.provider),
        route: rec.route.as_deref(),
        consumer: rec.consumer.as_deref(),
        status: rec.status,
        response_type: if rec.stream { "stream" } else { "normal" },
        input_token: u.input_tokens,
        output_token: u.output_tokens,
        total_token: u.input_tokens + u.output_tokens,
        cached_token: u.cached_tokens,
        reasoning_token: u.reasoning_tokens,
        token_estimated: acc.estimated,
        cost_usd: acc.cost_usd,
        duration: ms(acc.total),
        llm_first_token_duration: acc.first_token.map(ms),
        llm_service_duration: acc.service.map(ms),
        gateway_overhead: ms(acc.overhead),
        attempts,
        fallback_from: rec.fallback_from.as_deref(),
        chat_id: acc.chat_id.as_deref(),
        finish_reason: acc.finish_reason.as_ref().map(super::trace::finish_reason),
        error,
        client_disconnected: rec.client_gone,
        trace_id: rec
            .trace
            .filter(|t| t.sampled)
            .map(|t| t.trace_id.to_string()),
        request_body: body_limit.and_then(|l| {
            rec.request_body.as_ref().map(|b| {
                truncated(
                    std::slice::from_ref(b),
                    l,
                    rec.request_body_len.max(b.len()),
                )
            })
        }),
        response_body: body_limit.map(|l| {
            truncated(
                &rec.response_body,
                l,
                rec.response_body.iter().map(|p| p.len()).sum(),
            )
        }),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.push(b'\n');
    Ok(())
}

/// The first `limit` bytes of a body of `total` bytes (`parts` may hold
/// only its beginning), as text (a cut UTF-8 character and invalid bytes
/// become U+FFFD), marked when cut.
fn truncated(parts: &[bytes::Bytes], limit: usize, total: usize) -> String {
    let mut v = Vec::with_capacity(limit.min(parts.iter().map(|p| p.len()).sum()));
    for p in parts {
        let room = limit.saturating_sub(v.len());
        v.extend_from_slice(&p[..p.len().min(room)]);
    }
    let limit = v.len();
    let mut s = String::from_utf8_lossy(&v).into_owned();
    if total > limit {
        s.push_str(&format!("…[{} more bytes]", total - limit));
    }
    s
}

/// `2026-11-29T21:03:04.123Z`
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_986_184_123);
        assert_eq!(rfc3339(t), "2026-11-29T21:03:04.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn truncation() {
        let parts = [
            bytes::Bytes::from_static(b"hello "),
            bytes::Bytes::from_static(b"world"),
        ];
        assert_eq!(truncated(&parts, 100, 11), "hello world");
        assert_eq!(truncated(&parts, 8, 11), "hello wo…[3 more bytes]");
        // Only the beginning of a larger body was kept.
        assert_eq!(truncated(&parts, 100, 50), "hello world…[39 more bytes]");
    }
}
