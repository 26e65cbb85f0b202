//! The access log: one JSON line per request, written by the telemetry
//! worker to stdout, stderr or a file. Field names follow the reference
//! gateway's (`input_token`, `llm_first_token_duration`, ...); durations
//! are milliseconds. Credentials never appear: attempts carry the masked
//! form only, and bodies only with `log.bodies`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use super::account::Accounted;
use super::json_line::Obj;
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

/// Write one line for `rec` (newline included) into `out`: a JSON object
/// whose fields, in this order, are the log's documented schema
/// (docs/observability.md).
pub fn write_line(
    out: &mut Vec<u8>,
    rec: &RequestRecord,
    acc: &Accounted,
    body_limit: Option<usize>,
) -> std::io::Result<()> {
    let served = rec.served();
    let ended = rec.ended.unwrap_or(rec.started);
    let u = acc.usage;
    let mut line = Obj::start(out);
    line.with("time", |o| {
        o.push(b'"');
        rfc3339_into(o, rec.started_wall);
        o.push(b'"');
    })
    .str("request_id", rec.request_id.to_str().unwrap_or(""))
    .str("method", rec.method.as_str())
    .str("path", &rec.path)
    .opt_str("api", rec.api.map(|a| a.name()))
    .opt_str("model", served.map(|a| &*a.model))
    .opt_str("requested_model", rec.requested_model.as_deref())
    .opt_str("response_model", acc.response_model.as_deref())
    .opt_str(
        "provider",
        served.or(rec.attempts.last()).map(|a| &*a.provider),
    )
    .opt_str("route", rec.route.as_deref())
    .opt_str("consumer", rec.consumer.as_deref())
    .u64("status", u64::from(rec.status))
    .str(
        "response_type",
        if rec.stream { "stream" } else { "normal" },
    )
    .u64("input_token", u.input_tokens)
    .u64("output_token", u.output_tokens)
    .u64("total_token", u.input_tokens + u.output_tokens)
    .u64("cached_token", u.cached_tokens)
    .u64("reasoning_token", u.reasoning_tokens)
    .bool("token_estimated", acc.estimated)
    .opt_f64("cost_usd", acc.cost_usd)
    .millis("duration", acc.total)
    .opt_millis("llm_first_token_duration", acc.first_token)
    .opt_millis("llm_service_duration", acc.service)
    .millis("gateway_overhead", acc.overhead)
    .with("attempts", |o| {
        o.push(b'[');
        let last = rec.attempts.len().saturating_sub(1);
        for (i, a) in rec.attempts.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            let end = match (i == last, rec.upstream_end) {
                (true, Some(e)) if a.failure.is_none() => e,
                _ => a.ended.unwrap_or(ended),
            };
            Obj::start(o)
                .str("provider", &a.provider)
                .str("credential", &a.credential)
                .str("model", &a.model)
                .opt_u64("status", a.status.map(u64::from))
                .opt_str("error", a.failure.as_ref().map(|(_, m)| m.as_str()))
                .millis("duration", end.saturating_duration_since(a.started))
                .end();
        }
        o.push(b']');
    })
    .opt_str("fallback_from", rec.fallback_from.as_deref())
    .opt_str("chat_id", acc.chat_id.as_deref())
    .opt_str(
        "finish_reason",
        acc.finish_reason.as_ref().map(super::trace::finish_reason),
    );
    match (&rec.error, &acc.interrupted) {
        (Some((code, msg)), _) => line.str("error", &format!("{code}: {msg}")),
        (None, Some(m)) if rec.stream => line.str("error", &format!("stream_interrupted: {m}")),
        (None, Some(m)) => line.str("error", &format!("body_interrupted: {m}")),
        (None, None) if rec.status >= 400 => line.opt_str(
            "error",
            rec.attempts
                .last()
                .and_then(|a| a.failure.as_ref())
                .map(|(_, m)| m.as_str()),
        ),
        _ => line.null("error"),
    };
    line.bool("client_disconnected", rec.client_gone);
    match rec.trace.filter(|t| t.sampled) {
        Some(t) => line.str("trace_id", &t.trace_id.to_string()),
        None => line.null("trace_id"),
    };
    if let Some(l) = body_limit {
        if let Some(b) = rec.request_body.as_ref() {
            let text = truncated(
                std::slice::from_ref(b),
                l,
                rec.request_body_len.max(b.len()),
            );
            line.str("request_body", &text);
        }
        let text = truncated(
            &rec.response_body,
            l,
            rec.response_body.iter().map(|p| p.len()).sum(),
        );
        line.str("response_body", &text);
    }
    line.end();
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
#[cfg(test)]
fn rfc3339(t: SystemTime) -> String {
    let mut out = Vec::with_capacity(26);
    rfc3339_into(&mut out, t);
    String::from_utf8(out).unwrap_or_default()
}

/// [`rfc3339`] written into `out`.
fn rfc3339_into(out: &mut Vec<u8>, t: SystemTime) {
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
    let digits = |out: &mut Vec<u8>, v: u64, n: u32| {
        for i in (0..n).rev() {
            out.push(b'0' + (v / 10u64.pow(i) % 10) as u8);
        }
    };
    digits(out, year.clamp(0, 9999) as u64, 4);
    out.push(b'-');
    digits(out, month as u64, 2);
    out.push(b'-');
    digits(out, day as u64, 2);
    out.push(b'T');
    digits(out, rem / 3600, 2);
    out.push(b':');
    digits(out, rem % 3600 / 60, 2);
    out.push(b':');
    digits(out, rem % 60, 2);
    out.push(b'.');
    digits(out, u64::from(d.subsec_millis()), 3);
    out.push(b'Z');
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
