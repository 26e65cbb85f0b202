//! Reading what the gateway reports: the Prometheus exposition (parsed
//! strictly, sample by sample) and the JSON access log.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use super::{Reply, send};

/// A fresh access-log path for one test (`tag` names the test file).
pub fn log_path(tag: &str, name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchyard-{tag}-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("access.log");
    let _ = std::fs::remove_file(&p);
    p
}

/// The access-log lines by request id. `cost_usd` is read from the text
/// with `str::parse` (correctly rounded; serde_json's default float parser
/// can be one unit in the last place off), so comparisons can be exact.
pub fn log_lines(path: &Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            if let Some((_, rest)) = l.split_once("\"cost_usd\":") {
                let raw = &rest[..rest.find([',', '}']).unwrap()];
                if raw != "null" {
                    v["cost_usd"] = json!(raw.parse::<f64>().unwrap());
                }
            }
            (v["request_id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

/// One sample of the exposition: name, labels, value.
#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A strict reader of the text format's sample lines (the Python SDK suite
/// checks the whole document with the official Prometheus client parser).
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let mut labels = BTreeMap::new();
                let mut rest = rest.strip_suffix('}').unwrap();
                while !rest.is_empty() {
                    let (k, after) = rest.split_once("=\"").unwrap();
                    // Values here never contain escaped quotes.
                    let end = after.find('"').unwrap();
                    labels.insert(k.to_string(), after[..end].to_string());
                    rest = after[end + 1..].trim_start_matches(',');
                }
                (name.to_string(), labels)
            }
        };
        assert!(name.starts_with("switchyard_"), "{name}");
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// The series of `name` whose labels include `want`: how many, and the sum.
pub fn series(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> (usize, f64) {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        })
        .fold((0, 0.0), |(n, sum), s| (n + 1, sum + s.value))
}

/// The sum over series of `name` whose labels include `want`.
pub fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    series(samples, name, want).1
}

/// A JSON POST with a request id (and Anthropic's version header, which
/// other dialects ignore).
pub async fn post_id(addr: SocketAddr, path: &str, id: &str, body: Value) -> Reply {
    send(
        addr,
        "POST",
        path,
        serde_json::to_vec(&body).unwrap(),
        &[
            ("content-type", "application/json"),
            ("x-request-id", id),
            ("anthropic-version", "2023-06-01"),
        ],
    )
    .await
}
