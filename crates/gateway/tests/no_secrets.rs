//! Credentials never print: with every log event captured at TRACE level,
//! traffic through every path that logs (success, streams, 401, 429 with
//! retry, a credential taken out of rotation and its health checks,
//! fallback, a connect error, the access log with bodies, spans, `/status`,
//! `/metrics`), and `{:?}` / `{:#?}` of the config and of the runtime
//! after that traffic (upstreams, cached Vertex token, health store), shows
//! no secret anywhere a person or a collector could read it: only the
//! masked form (`down…6789`).
//!
//! The subscriber is global, so one test drives all the traffic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchyard_emulator::MockConfig;
use tokio::io::AsyncWriteExt;

const OK: &str = "sk-SECRETsecret0123456789abcdefXYZ";
const LIMITED: &str = "limited-SECRETlimited987654321";
const DOWN: &str = "down-SECRETdown0123456789";
const BAD: &str = "bad-SECRETbad0123456789";
/// On a provider whose host refuses connections.
const DEAD: &str = "sk-SECRETdead0123456789abcdef";
const CLAUDE: &str = "sk-ant-SECRETclaude0123456789abcdef";
const GEMINI: &str = "AIzaSECRETgemini0123456789abcdefghij";
const AWS_ACCESS: &str = "AKIASECRETACCESS0001XY";
const AWS_SECRET: &str = "wJalrSECRETbedrock/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AWS_SESSION: &str = "FwoGSECRETsession0123456789token";
/// A key a client sends the gateway (which has no client auth to use it).
const CLIENT_KEY: &str = "sk-SECRETclient0123456789abcdef";
/// A custom header's value (`headers:` of a provider).
const HEADER_SECRET: &str = "hdr-SECRETheader0123456789abcd";
/// The access token the Vertex token endpoint hands out.
const VERTEX_TOKEN: &str = "ya29.SECRETvertex0123456789abcdef";
/// A service-account key file; its private key is a secret too.
const VERTEX_KEY: &str = include_str!("../../providers/tests/data/test-service-account.json");

const SECRETS: [&str; 13] = [
    OK,
    LIMITED,
    DOWN,
    BAD,
    DEAD,
    CLAUDE,
    GEMINI,
    AWS_ACCESS,
    AWS_SECRET,
    AWS_SESSION,
    CLIENT_KEY,
    HEADER_SECRET,
    VERTEX_TOKEN,
];

/// Every secret carries this marker; no masked form (at most 4 leading
/// and 4 trailing characters) can.
const MARKER: &str = "SECRET";

/// The log output of the whole process.
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

/// Every event of every crate (and `log` records, bridged), at TRACE.
fn capture_everything() -> Capture {
    let capture = Capture(Arc::new(Mutex::new(Vec::new())));
    let w = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(move || w.clone())
        .try_init()
        .expect("the only subscriber of this test binary");
    capture
}

/// The base64 body of the service-account private key, in pieces of 12:
/// any 23 characters of it in a row hold one whole piece.
fn private_key_pieces() -> Vec<String> {
    let key: Value = serde_json::from_str(VERTEX_KEY).unwrap();
    let pem = key["private_key"].as_str().unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let chars: Vec<char> = body.chars().collect();
    assert!(chars.len() > 1000, "a real key");
    chars.chunks_exact(12).map(|c| c.iter().collect()).collect()
}

/// Fails if `text` holds any secret, its marker, or any 12 characters in
/// a row of one (a masked form shows at most 4 and 4, apart), or a piece
/// of the service-account private key.
fn assert_no_secret(what: &str, text: &str) {
    let found = |needle: &str| {
        text.find(needle).map(|i| {
            let mut from = i.saturating_sub(120);
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let mut to = (i + needle.len() + 120).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            format!("{needle:?} in {what}: …{}…", &text[from..to])
        })
    };
    if let Some(m) = found(MARKER) {
        panic!("a secret leaked: {m}");
    }
    if let Some(m) = found("PRIVATE KEY") {
        panic!("the private key leaked: {m}");
    }
    for piece in private_key_pieces() {
        if let Some(m) = found(&piece) {
            panic!("part of the private key leaked: {m}");
        }
    }
    for s in SECRETS {
        let chars: Vec<char> = s.chars().collect();
        for w in chars.windows(12) {
            let w: String = w.iter().collect();
            if let Some(m) = found(&w) {
                panic!("part of a secret leaked: {m}");
            }
        }
    }
}

/// A collector that keeps every OTLP body (the exporter sends them with a
/// content-length).
async fn collector() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b = bodies.clone();
    let addr = raw_upstream(move |mut s| {
        let b = b.clone();
        async move {
            let req = read_request(&mut s).await;
            b.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&req.body).into_owned());
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                .await;
        }
    })
    .await;
    (addr, bodies)
}

/// Poll `cond` every 20 ms for at most `limit`.
async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

fn reply_text(r: &Reply) -> String {
    let mut out = format!("{}\n", r.status);
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
    }
    out.push_str(&r.text());
    out
}

fn streamed(model: &str) -> Value {
    json!({
        "model": model,
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "Hello there"}]
    })
}

#[tokio::test]
async fn no_credential_reaches_logs_access_log_spans_admin_or_clients() {
    let logs = capture_everything();
    let emu = emulator(MockConfig::default()).await;
    let e = emu.addr;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (otel, spans) = collector().await;
    let token_endpoint = raw_upstream(|mut s| async move {
        let _ = read_request(&mut s).await;
        let body = format!(r#"{{"access_token":"{VERTEX_TOKEN}","expires_in":3599,"token_type":"Bearer"}}"#);
        let _ = s
            .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
            .await;
    })
    .await;
    let mut vertex_key: Value = serde_json::from_str(VERTEX_KEY).unwrap();
    vertex_key["token_uri"] = json!(format!("http://{token_endpoint}/token"));
    // One line of JSON, single-quoted in the YAML (it holds no quote).
    let vertex_key = vertex_key.to_string();
    assert!(!vertex_key.contains('\'') && !vertex_key.contains('$'));
    let dir = std::env::temp_dir().join(format!("switchyard-no-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let access = dir.join("access.log");
    let _ = std::fs::remove_file(&access);

    let yaml = format!(
        r#"
providers:
  - id: oai
    type: openai
    baseUrl: "http://{e}"
    apiTokens: ["{OK}", "{LIMITED}", "{DOWN}", "{BAD}"]
    tokenSelection: round-robin
    failover: {{ enabled: true, failureThreshold: 1, healthCheckInterval: 200ms, healthCheckModel: hc-model }}
    retryOnFailure: {{ enabled: true, maxRetries: 3 }}
  - id: limited
    type: openai
    baseUrl: "http://{e}"
    apiTokens: ["{LIMITED}"]
    retryOnFailure: {{ enabled: true, maxRetries: 2 }}
  - {{ id: badonly, type: openai, baseUrl: "http://{e}", apiTokens: ["{BAD}"] }}
  - {{ id: downp, type: openai, baseUrl: "http://{e}", apiTokens: ["{DOWN}"] }}
  - {{ id: dead, type: openai, baseUrl: "http://{dead}", apiTokens: ["{DEAD}"] }}
  - {{ id: claude, type: claude, baseUrl: "http://{e}", apiTokens: ["{CLAUDE}"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{e}", apiTokens: ["{GEMINI}"] }}
  - id: rock
    type: bedrock
    baseUrl: "http://{e}"
    awsRegion: us-east-1
    awsAccessKey: "{AWS_ACCESS}"
    awsSecretKey: "{AWS_SECRET}"
    awsSessionToken: "{AWS_SESSION}"
  - id: hdr
    type: openai
    baseUrl: "http://{e}"
    apiTokens: ["{OK}"]
    headers: {{ x-custom-auth: "{HEADER_SECRET}", x-team: blue }}
  - id: vx
    type: vertex
    baseUrl: "http://{e}"
    vertexProjectId: p1
    vertexRegion: us-central1
    vertexAuthKey: '{vertex_key}'
    modelMapping: {{ "*": gemini-2.5-flash }}
routes:
  - {{ name: limited, models: ["limited-*"], provider: limited }}
  - {{ name: bad, models: ["bad-*"], provider: badonly }}
  - {{ name: dead, models: ["dead-*"], provider: dead }}
  - name: fb
    models: ["fb-*"]
    provider: downp
    fallback: {{ targets: [{{ provider: dead, model: dead-model }}, {{ provider: claude, model: claude-sonnet-4-5 }}] }}
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: bedrock, models: ["anthropic.*"], provider: rock }}
  - {{ name: hdr, models: ["hdr-*"], provider: hdr }}
  - {{ name: vertex, models: ["vx-*"], provider: vx }}
  - {{ name: openai, models: ["*"], provider: oai }}
log: {{ access: "{}", bodies: true }}
otel: {{ endpoint: "http://{otel}", serviceName: no-secrets }}
"#,
        access.display()
    );
    let gw = gateway(&yaml).await;

    let mut replies: Vec<(String, Reply)> = Vec::new();
    let mut requests = 0usize;
    // Success, 429 with retry, 503 and 401 taking tokens out (round-robin
    // and four attempts: every request is served in the end).
    for i in 0..12 {
        let r = post(gw.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
        assert_eq!(r.status, 200, "pool request {i}: {}", r.text());
        replies.push((format!("pool {i}"), r));
        requests += 1;
    }
    for i in 0..3 {
        let r = post(gw.addr, "/v1/chat/completions", streamed("gpt-4o-mini")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        replies.push((format!("stream {i}"), r));
        requests += 1;
    }
    let expect = [
        ("429 after a retry", chat("limited-x"), 429u16),
        ("401", chat("bad-x"), 401),
        ("fallback past 503 and a connect error", chat("fb-x"), 200),
        ("claude", chat("claude-sonnet-4-5"), 200),
        ("claude stream", streamed("claude-sonnet-4-5"), 200),
        ("gemini", chat("gemini-2.5-flash"), 200),
        ("gemini stream", streamed("gemini-2.5-flash"), 200),
        (
            "bedrock",
            chat("anthropic.claude-3-5-haiku-20241022-v1:0"),
            200,
        ),
        (
            "bedrock stream",
            streamed("anthropic.claude-3-5-haiku-20241022-v1:0"),
            200,
        ),
        ("a custom secret header", chat("hdr-x"), 200),
        ("vertex", chat("vx-x"), 200),
        ("vertex stream", streamed("vx-x"), 200),
    ];
    for (what, body, status) in expect {
        let r = post(gw.addr, "/v1/chat/completions", body).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        replies.push((what.to_string(), r));
        requests += 1;
    }
    let r = post(gw.addr, "/v1/chat/completions", chat("dead-x")).await;
    assert!(r.status.is_server_error(), "connect error: {}", r.text());
    replies.push(("connect error".into(), r));
    requests += 1;
    let r = send(
        gw.addr,
        "POST",
        "/v1/messages",
        serde_json::to_vec(&json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]})).unwrap(),
        &[("content-type", "application/json"), ("anthropic-version", "2023-06-01")],
    )
    .await;
    assert_eq!(r.status, 200, "anthropic client: {}", r.text());
    replies.push(("anthropic client".into(), r));
    requests += 1;
    let bearer = format!("Bearer {CLIENT_KEY}");
    let r = send(
        gw.addr,
        "POST",
        "/v1/chat/completions",
        serde_json::to_vec(&chat("gpt-4o-mini")).unwrap(),
        &[
            ("content-type", "application/json"),
            ("authorization", &bearer),
            ("x-api-key", CLIENT_KEY),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "client credentials: {}", r.text());
    replies.push(("a client sending its own key".into(), r));
    requests += 1;
    let fb = &replies
        .iter()
        .find(|(w, _)| w.starts_with("fallback"))
        .unwrap()
        .1;
    assert_eq!(fb.header("x-switchyard-provider"), Some("claude"));

    // Every secret was really used upstream (else their absence below
    // proves nothing).
    let seen = emu.emulator.requests();
    let used: HashSet<String> = seen.iter().filter_map(|r| r.credential.clone()).collect();
    for s in [
        OK,
        LIMITED,
        DOWN,
        BAD,
        CLAUDE,
        GEMINI,
        AWS_ACCESS,
        VERTEX_TOKEN,
    ] {
        assert!(used.contains(s), "{s} never reached the emulator: {used:?}");
    }
    assert!(
        seen.iter()
            .flat_map(|r| &r.headers)
            .any(|(k, v)| k == "x-custom-auth" && v == HEADER_SECRET),
        "the custom header never reached the emulator"
    );

    // Health checks of the tokens taken out run every 200 ms.
    assert!(
        eventually(Duration::from_secs(10), || logs
            .text()
            .contains("health check failed"))
        .await,
        "health checks of the failing tokens are logged"
    );

    let mut admin = Vec::new();
    for path in ["/status", "/metrics", "/health"] {
        let r = send(gw.admin, "GET", path, "", &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        admin.push((path, r));
    }
    // `/metrics` waited for every request to be accounted, so the access
    // log has them all; spans follow within a flush interval.
    let server_spans = |bodies: &[String]| {
        bodies
            .iter()
            .map(|b| b.matches("\"kind\":2").count())
            .sum::<usize>()
    };
    assert!(
        eventually(Duration::from_secs(5), || server_spans(
            &spans.lock().unwrap()
        ) >= requests)
        .await,
        "a SERVER span per request: {} of {requests}",
        server_spans(&spans.lock().unwrap())
    );
    let access_log = std::fs::read_to_string(&access).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let logged = logs.text();
    let spans = spans.lock().unwrap().join("\n");

    // What was captured is the real thing.
    for line in [
        "attempt failed",
        "credential out of rotation",
        "health check failed",
        // Credentials are logged, masked.
        "down…6789",
        "limi…4321",
        "bad-…6789",
    ] {
        assert!(
            logged.contains(line),
            "no {line:?} in the captured log:\n{logged}"
        );
    }
    assert_eq!(
        access_log.lines().count(),
        requests,
        "one access-log line per request"
    );
    assert!(
        access_log.contains("\"request_body\"") && access_log.contains("Hello there"),
        "bodies are logged"
    );
    assert!(access_log.contains("down…6789"), "{access_log}");
    let status = admin[0].1.text();
    assert!(
        status.contains("down…6789") && status.contains("AKI…01XY"),
        "{status}"
    );
    assert!(admin[1].1.text().contains("switchyard_"));
    assert!(spans.contains("switchyard.credential"), "{spans}");

    // `{:?}` and `{:#?}` of the config and of the runtime that served all
    // of this (tokens out of rotation, a Vertex token cached).
    let cfg = switchyard_config::Config::from_yaml(&yaml, "no-secrets.yaml").unwrap();
    let rt = gw.gateway.runtime();
    let mut debug: Vec<(String, String)> = Vec::new();
    let mut both = |what: String, plain: String, pretty: String| {
        debug.push((format!("{{:?}} of {what}"), plain));
        debug.push((format!("{{:#?}} of {what}"), pretty));
    };
    both("the config".into(), format!("{cfg:?}"), format!("{cfg:#?}"));
    for p in &cfg.providers {
        both(
            format!("provider {}", p.id),
            format!("{p:?}"),
            format!("{p:#?}"),
        );
    }
    let snap = rt.snapshot();
    for u in &snap.upstreams {
        both(
            format!("upstream {}", u.id),
            format!("{u:?}"),
            format!("{u:#?}"),
        );
    }
    let store = &rt.shared.health_store;
    both(
        "the health store".into(),
        format!("{store:?}"),
        format!("{store:#?}"),
    );
    let routes = &snap.routes;
    both(
        "the routes".into(),
        format!("{routes:?}"),
        format!("{routes:#?}"),
    );
    let text = |what: &str| {
        debug
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    // What was formatted is the real thing, credentials masked.
    let config = text("{:#?} of the config");
    for shown in [
        "\"down…6789\"",
        "x-custom-auth",
        "\"hdr-…abcd\"",
        "\"x-team\"",
        "\"AKI…01XY\"",
        "<redacted>",
        "<service account switchyard-test@example.iam.gserviceaccount.com>",
        "hc-model",
    ] {
        assert!(config.contains(shown), "no {shown} in {config}");
    }
    let vx = text("{:?} of upstream vx");
    assert!(
        vx.contains("ya2…cdef") && vx.contains("switchyard-test@"),
        "the cached Vertex token, masked: {vx}"
    );
    let hdr = text("{:?} of upstream hdr");
    assert!(hdr.contains("\"x-custom-auth\", \"hdr-…abcd\""), "{hdr}");
    let store = text("{:?} of the health store");
    assert!(store.contains("oai#") && store.contains("vx#"), "{store}");
    for (what, t) in &debug {
        assert_no_secret(what, t);
    }

    assert_no_secret("the captured log", &logged);
    assert_no_secret("the access log", &access_log);
    assert_no_secret("the exported spans", &spans);
    for (path, r) in &admin {
        assert_no_secret(&format!("GET {path}"), &reply_text(r));
    }
    for (what, r) in &replies {
        assert_no_secret(&format!("the reply to {what}"), &reply_text(r));
    }
}

/// The check itself: masked forms pass, a fragment without the marker
/// does not.
#[test]
fn the_check_passes_masked_forms_and_catches_fragments() {
    assert_no_secret("masked", "credential=\"sk-…fXYZ\" down…6789 AKI…01XY");
    let fragment = &OK[15..29];
    assert!(!fragment.contains(MARKER));
    let caught = std::panic::catch_unwind(|| {
        assert_no_secret("a fragment", &format!("token={fragment}"));
    });
    assert!(caught.is_err(), "{fragment} was not caught");
}
