//! The workers together: every record accounted once from many threads,
//! the byte budget, and flushes that wait for every worker.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderValue;
use switchyard_config::Config;
use switchyard_providers::Dialect;
use tokio::time::Instant;

use super::access_log::Sink;
use super::*;

fn config(log: &str) -> Config {
    let yaml = format!(
        "metrics: {{ enabled: true }}\nlog: {{ access: \"{log}\" }}\nproviders:\n  - id: p\n    type: openai\n    baseUrl: \"http://127.0.0.1:9\"\n    apiTokens: [\"sk-test\"]\nroutes:\n  - name: r\n    provider: p\n"
    );
    match Config::from_yaml(&yaml, "test") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// A served request as the request path leaves it.
fn record(id: &str, model: &str) -> Box<RequestRecord> {
    let mut rec = Box::new(RequestRecord::new(
        HeaderValue::from_str(id).unwrap(),
        http::Method::POST,
        "/v1/chat/completions",
        Dialect::OpenAi,
    ));
    let now = Instant::now();
    rec.route = Some(Arc::from("r"));
    rec.status = 200;
    rec.attempts.push(AttemptRecord {
        provider: Arc::from("p"),
        credential: Arc::from("sk-…test"),
        model: Arc::from(model),
        system: "openai",
        hop: 0,
        started: now,
        started_wall: SystemTime::now(),
        ended: Some(now),
        status: Some(200),
        failure: None,
        span_id: None,
        server: None,
    });
    rec.ended = Some(now);
    rec
}

/// `switchyard_requests_total`, summed over its series.
fn requests_total(t: &Telemetry) -> u64 {
    let text = t.metrics.as_ref().unwrap().exposition();
    text.lines()
        .filter(|l| l.starts_with("switchyard_requests_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Access-log lines: each must be one whole JSON object.
fn log_ids(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a whole line ({e}): {l:.200}"));
            v["request_id"].as_str().unwrap().to_string()
        })
        .collect()
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "switchyard-{name}-{}-{:?}.jsonl",
        std::process::id(),
        std::thread::current().id()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_from_many_threads_is_accounted_once() {
    let path = temp_path("many-threads");
    let _ = std::fs::remove_file(&path);
    let cfg = config(&path.display().to_string());
    let t = Arc::new(
        Telemetry::start_with(
            &cfg,
            Vec::new(),
            None,
            Workers {
                count: 4,
                queue_bytes: QUEUE_BYTES,
            },
        )
        .unwrap(),
    );
    assert_eq!(t.workers(), 4);
    const THREADS: usize = 12;
    const EACH: usize = 5_000;
    std::thread::scope(|s| {
        for th in 0..THREADS {
            let t = t.clone();
            s.spawn(move || {
                for i in 0..EACH {
                    t.submit(record(&format!("t{th}-{i}"), &format!("m{}", th % 3)));
                }
            });
        }
    });
    t.flush(Duration::from_secs(20)).await;
    assert_eq!(t.dropped(), 0, "below the byte budget nothing is dropped");
    assert_eq!(requests_total(&t), (THREADS * EACH) as u64);
    let metrics = t.metrics.as_ref().unwrap().exposition();
    for m in 0..3 {
        assert!(
            metrics.contains(&format!("model=\"m{m}\"")),
            "model m{m} missing from the exposition"
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let ids = log_ids(&text);
    assert_eq!(ids.len(), THREADS * EACH);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), THREADS * EACH, "a request logged twice");
    let _ = std::fs::remove_file(&path);
}

/// A log that blocks each write until the test lets it through.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    permits: usize,
    waiting: usize,
    written: Vec<u8>,
}

impl Gate {
    fn allow(&self, n: usize) {
        self.state.lock().unwrap().permits += n;
        self.changed.notify_all();
    }

    /// Wait until `n` writes are waiting at the gate.
    fn wait_for_waiting(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut s = self.state.lock().unwrap();
        while s.waiting < n {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "{} writes waiting, not {n}", s.waiting);
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
    }

    fn written(&self) -> String {
        String::from_utf8(self.state.lock().unwrap().written.clone()).unwrap()
    }
}

struct GatedLog(Arc<Gate>);

impl Write for GatedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let g = &self.0;
        let mut s = g.state.lock().unwrap();
        s.waiting += 1;
        g.changed.notify_all();
        while s.permits == 0 {
            s = g.changed.wait(s).unwrap();
        }
        s.permits -= 1;
        s.waiting -= 1;
        s.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn gated(workers: Workers) -> (Arc<Telemetry>, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    let sink = Sink::new(Box::new(GatedLog(gate.clone())));
    let t = Telemetry::start_inner(&config("off"), Vec::new(), None, workers, Some(sink)).unwrap();
    (Arc::new(t), gate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_byte_budget_records_are_dropped_and_counted() {
    let cost = record("x-0", "m").approx_bytes();
    // Room for 5 records besides the one a worker may always take.
    let (t, gate) = gated(Workers {
        count: 1,
        queue_bytes: 5 * cost + cost / 2,
    });
    // The first record is taken, then the worker blocks writing its line
    // (a log block is written at the latest 200 ms after its first line).
    t.submit_to(0, record("x-0", "m"));
    gate.wait_for_waiting(1);
    for i in 1..=100 {
        t.submit_to(0, record(&format!("x-{i}"), "m"));
    }
    assert_eq!(
        t.dropped(),
        95,
        "5 records fit in the budget, the rest are dropped"
    );
    gate.allow(usize::MAX / 2);
    t.flush(Duration::from_secs(10)).await;
    assert_eq!(requests_total(&t), 6);
    let ids = log_ids(&gate.written());
    assert_eq!(ids, (0..=5).map(|i| format!("x-{i}")).collect::<Vec<_>>());
    // The queue is empty again: records are taken again.
    t.submit_to(0, record("x-101", "m"));
    t.flush(Duration::from_secs(10)).await;
    assert_eq!(requests_total(&t), 7);
    assert_eq!(t.dropped(), 95);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_waits_for_every_worker() {
    let (t, gate) = gated(Workers {
        count: 4,
        queue_bytes: QUEUE_BYTES,
    });
    for w in 0..4 {
        t.submit_to(w, record(&format!("w-{w}"), "m"));
    }
    let flushing = {
        let t = t.clone();
        tokio::spawn(async move { t.flush(Duration::from_secs(20)).await })
    };
    // Every worker writes its line for the flush; let three through.
    gate.wait_for_waiting(1);
    gate.allow(3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(log_ids(&gate.written()).len(), 3);
    assert!(
        !flushing.is_finished(),
        "the flush did not wait for the 4th worker"
    );
    gate.allow(1);
    tokio::time::timeout(Duration::from_secs(10), flushing)
        .await
        .unwrap()
        .unwrap();
    let mut ids = log_ids(&gate.written());
    ids.sort();
    assert_eq!(ids, ["w-0", "w-1", "w-2", "w-3"]);
    assert_eq!(requests_total(&t), 4);
}

#[test]
fn telemetry_off_starts_no_worker() {
    let mut cfg = config("off");
    cfg.metrics.enabled = false;
    let t = Telemetry::start_with(&cfg, Vec::new(), None, Workers::default()).unwrap();
    assert!(!t.enabled());
    assert_eq!(t.workers(), 0);
    t.submit(record("x", "m"));
    assert_eq!(t.dropped(), 0);
}

/// The access line's schema, field by field and in order, for a request
/// that failed over once (an error text that needs escaping included).
#[test]
fn access_line_fields() {
    let mut rec = record("req-1", "gpt-4o");
    rec.requested_model = Some(Box::from("fast"));
    rec.consumer = Some(Arc::from("team-a"));
    rec.api = Some(switchyard_providers::Api::ChatCompletions);
    let now = Instant::now();
    rec.attempts.insert(
        0,
        AttemptRecord {
            provider: Arc::from("p"),
            credential: Arc::from("sk-…test"),
            model: Arc::from("gpt-4o"),
            system: "openai",
            hop: 0,
            started: now,
            started_wall: SystemTime::now(),
            ended: Some(now),
            status: Some(429),
            failure: Some((
                super::record::FailureKind::Status,
                "429 \"slow down\"\nretry".into(),
            )),
            span_id: None,
            server: None,
        },
    );
    let acc = super::account::Accounted {
        usage: switchyard_protocol::canonical::TokenUsage {
            input_tokens: 12,
            output_tokens: 3,
            ..Default::default()
        },
        cost_usd: Some(0.000_125),
        total: std::time::Duration::from_micros(1_500),
        overhead: std::time::Duration::from_micros(42),
        chat_id: Some("chatcmpl-1".into()),
        ..Default::default()
    };
    let mut out = Vec::new();
    super::access_log::write_line(&mut out, &rec, &acc, None).unwrap();
    assert_eq!(out.last(), Some(&b'\n'));
    let text = std::str::from_utf8(&out).unwrap();
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    // The order as written (a `Value` sorts its keys): each top-level key
    // after the one before, the attempts' own keys cut out.
    let a = text.find("\"attempts\":[").unwrap();
    let b = a + text[a..].find("],\"fallback_from\"").unwrap();
    let top = format!("{}{}", &text[..a + 12], &text[b..]);
    let mut at = 0;
    for k in [
        "time",
        "request_id",
        "method",
        "path",
        "api",
        "model",
        "requested_model",
        "response_model",
        "provider",
        "route",
        "consumer",
        "status",
        "response_type",
        "input_token",
        "output_token",
        "total_token",
        "cached_token",
        "reasoning_token",
        "token_estimated",
        "cost_usd",
        "duration",
        "llm_first_token_duration",
        "llm_service_duration",
        "gateway_overhead",
        "attempts",
        "fallback_from",
        "chat_id",
        "finish_reason",
        "error",
        "client_disconnected",
        "trace_id",
    ] {
        let pos = top[at..].find(&format!("\"{k}\":")).map(|p| p + at);
        assert!(pos.is_some(), "`{k}` missing or out of order in {text}");
        at = pos.unwrap_or(at);
    }
    assert_eq!(v.as_object().unwrap().len(), 31);
    let time = v["time"].as_str().unwrap();
    assert_eq!((time.len(), &time[10..11], &time[23..]), (24, "T", "Z"));
    assert_eq!(v["request_id"], "req-1");
    assert_eq!(v["api"], "chat.completions");
    assert_eq!(v["model"], "gpt-4o");
    assert_eq!(v["requested_model"], "fast");
    assert_eq!(v["response_model"], serde_json::Value::Null);
    assert_eq!(v["consumer"], "team-a");
    assert_eq!(v["status"], 200);
    assert_eq!(v["response_type"], "normal");
    assert_eq!(v["total_token"], 15);
    assert_eq!(v["token_estimated"], false);
    assert_eq!(v["cost_usd"], 0.000_125);
    assert_eq!(v["duration"], 1.5);
    assert_eq!(v["gateway_overhead"], 0.042);
    assert_eq!(v["chat_id"], "chatcmpl-1");
    assert_eq!(v["error"], serde_json::Value::Null);
    assert_eq!(v["client_disconnected"], false);
    let attempts = v["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["status"], 429);
    assert_eq!(attempts[0]["error"], "429 \"slow down\"\nretry");
    assert_eq!(attempts[0]["credential"], "sk-…test");
    assert_eq!(attempts[1]["error"], serde_json::Value::Null);
    assert!(attempts[1]["duration"].is_number());
}

/// A large request body is not queued with its record: dropped when the
/// answer counted the prompt, its prefix copied when an estimate or
/// `log.bodies` needs it.
#[test]
fn a_large_request_body_is_bounded_before_the_queue() {
    let big = Bytes::from(vec![b'x'; REQUEST_KEEP + 1]);
    let with_usage = Bytes::from_static(
        br#"{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":70000,"completion_tokens":3,"total_tokens":70003}}"#,
    );
    let without = Bytes::from_static(br#"{"id":"c","model":"m","choices":[]}"#);
    let kept = |answer: Option<&Bytes>, served: bool, log_bodies: bool| {
        let mut rec = record("t", "m");
        if !served {
            rec.attempts.clear();
        }
        rec.keep_request_body(&big);
        if let Some(a) = answer {
            rec.capture(a, 1 << 20);
        }
        bound_for_queue(&mut rec, log_bodies);
        assert!(!rec.holds_large_body());
        rec.request_body.as_ref().map(Bytes::len)
    };
    assert_eq!(kept(Some(&with_usage), true, false), None);
    assert_eq!(kept(Some(&without), true, false), Some(REQUEST_KEEP));
    assert_eq!(kept(Some(&with_usage), true, true), Some(REQUEST_KEEP));
    assert_eq!(kept(None, false, false), None);
}
