//! What the admin API shows of recent traffic: the last access-log records
//! in a bounded ring (`GET /admin/requests`) and per-minute totals for the
//! last hour (`GET /admin/traffic`). Filled by the telemetry workers, off
//! the request path; kept only when an admin listener is configured.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::account::Accounted;
use super::record::RequestRecord;

/// Records kept for `GET /admin/requests`.
pub const RECENT_REQUESTS: usize = 500;
/// Minutes of totals kept for `GET /admin/traffic`.
pub const MINUTES: usize = 60;

/// One minute of traffic.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Minute {
    /// Unix seconds of the minute's start.
    pub start: u64,
    pub requests: u64,
    /// Answers with a status of 400 or more, and streams that broke.
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub latency_ms_sum: f64,
    pub ttft_ms_sum: f64,
    pub ttft_count: u64,
}

pub struct Recent {
    lines: Mutex<VecDeque<Box<str>>>,
    cap: usize,
    minutes: Mutex<VecDeque<Minute>>,
}

impl Recent {
    pub fn new(cap: usize) -> Recent {
        Recent {
            lines: Mutex::new(VecDeque::with_capacity(cap.min(64))),
            cap,
            minutes: Mutex::new(VecDeque::with_capacity(MINUTES + 1)),
        }
    }

    /// Keep `line` (one access-log JSON line) and count the request into
    /// the minute `now` (Unix seconds) falls in.
    pub fn push(&self, line: &[u8], rec: &RequestRecord, acc: &Accounted, now: u64) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end();
        if self.cap > 0 && !line.is_empty() {
            let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
            if lines.len() == self.cap {
                lines.pop_front();
            }
            lines.push_back(Box::from(line));
        }
        let start = now - now % 60;
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        if minutes.back().is_none_or(|m| m.start < start) {
            minutes.push_back(Minute {
                start,
                ..Minute::default()
            });
            while minutes.len() > MINUTES {
                minutes.pop_front();
            }
        }
        // A record accounted late (a worker's batch) counts in the newest
        // minute rather than reopening an old one.
        let Some(m) = minutes.back_mut() else {
            return;
        };
        m.requests += 1;
        if rec.status >= 400 || acc.interrupted.is_some() {
            m.errors += 1;
        }
        m.input_tokens += acc.usage.input_tokens;
        m.output_tokens += acc.usage.output_tokens;
        m.cost_usd += acc.cost_usd.unwrap_or(0.0);
        m.latency_ms_sum += acc.total.as_secs_f64() * 1000.0;
        if let Some(t) = acc.first_token {
            m.ttft_ms_sum += t.as_secs_f64() * 1000.0;
            m.ttft_count += 1;
        }
    }

    /// The last `n` lines as a JSON array, newest first.
    pub fn requests_json(&self, n: usize) -> String {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::from("[");
        for (i, l) in lines.iter().rev().take(n).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(l);
        }
        out.push(']');
        out
    }

    /// The last [`MINUTES`] minutes up to `now`, oldest first, with the
    /// minutes without traffic as zeros.
    pub fn traffic(&self, now: u64) -> Vec<Minute> {
        let minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        let end = now - now % 60;
        let first = end.saturating_sub(60 * (MINUTES as u64 - 1));
        (0..MINUTES as u64)
            .map(|i| first + 60 * i)
            .map(|start| {
                minutes
                    .iter()
                    .find(|m| m.start == start)
                    .cloned()
                    .unwrap_or(Minute {
                        start,
                        ..Minute::default()
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keeps_the_last_lines_and_an_hour_of_minutes() {
        let r = Recent::new(3);
        let mut rec = RequestRecord::new(
            http::HeaderValue::from_static("r"),
            http::Method::POST,
            "/v1/chat/completions",
            switchyard_providers::Dialect::OpenAi,
        );
        let acc = Accounted {
            total: std::time::Duration::from_millis(20),
            cost_usd: Some(0.5),
            ..Accounted::default()
        };
        let t0 = 1_000_020;
        for i in 0..5 {
            rec.status = if i == 4 { 502 } else { 200 };
            r.push(
                format!("{{\"n\":{i}}}\n").as_bytes(),
                &rec,
                &acc,
                t0 + i * 30,
            );
        }
        assert_eq!(r.requests_json(2), r#"[{"n":4},{"n":3}]"#);
        assert_eq!(r.requests_json(10), r#"[{"n":4},{"n":3},{"n":2}]"#);
        let now = t0 + 4 * 30;
        let t = r.traffic(now);
        assert_eq!(t.len(), MINUTES);
        assert_eq!(t.last().unwrap().start, now - now % 60);
        let total: u64 = t.iter().map(|m| m.requests).sum();
        assert_eq!(total, 5);
        assert_eq!(t.iter().map(|m| m.errors).sum::<u64>(), 1);
        assert!((t.iter().map(|m| m.cost_usd).sum::<f64>() - 2.5).abs() < 1e-9);
        // An hour later, all of it has aged out.
        assert_eq!(
            r.traffic(now + 3600)
                .iter()
                .map(|m| m.requests)
                .sum::<u64>(),
            0
        );
    }
}
