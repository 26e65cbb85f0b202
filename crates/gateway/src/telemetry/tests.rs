//! The workers together: every record accounted once from many threads,
//! the byte budget, and flushes that wait for every worker.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

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
