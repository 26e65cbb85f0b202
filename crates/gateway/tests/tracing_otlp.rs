//! OpenTelemetry traces end to end: the gateway exports OTLP/HTTP JSON to
//! an in-process collector, and upstreams (the emulator or a raw-TCP one)
//! show the `traceparent` each attempt carried.
//!
//! Spans leave the gateway in batches at most 1 s apart, so every wait for
//! them is a bounded poll of the collector.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::header::CONTENT_TYPE;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// What the collector got in one POST.
#[derive(Clone, Debug)]
struct Export {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Bytes,
}

impl Export {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the OTLP body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1 that records every request.
struct Collector {
    addr: SocketAddr,
    exports: Arc<Mutex<Vec<Export>>>,
}

async fn collector() -> Collector {
    let l = TcpListener::bind(SocketAddr::from(LOCAL)).await.unwrap();
    let addr = l.local_addr().unwrap();
    let exports = Arc::new(Mutex::new(Vec::new()));
    let seen = exports.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_string();
                        let content_type = req
                            .headers()
                            .get(CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        let body = req.into_body().collect().await?.to_bytes();
                        seen.lock().unwrap().push(Export {
                            method,
                            path,
                            content_type,
                            body,
                        });
                        let mut resp = Response::new(Full::new(Bytes::from_static(b"{}")));
                        resp.headers_mut()
                            .insert(CONTENT_TYPE, "application/json".parse().unwrap());
                        Ok::<_, hyper::Error>(resp)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    Collector { addr, exports }
}

/// A span with the resource it was exported under.
#[derive(Clone, Debug)]
struct Exported {
    resource: Value,
    span: Value,
}

impl Collector {
    fn exports(&self) -> Vec<Export> {
        self.exports.lock().unwrap().clone()
    }

    /// Every span received so far, in arrival order.
    fn spans(&self) -> Vec<Exported> {
        let mut out = Vec::new();
        for e in self.exports() {
            let doc = e.json();
            for rs in doc["resourceSpans"].as_array().unwrap() {
                for ss in rs["scopeSpans"].as_array().unwrap() {
                    for s in ss["spans"].as_array().unwrap() {
                        out.push(Exported {
                            resource: rs["resource"].clone(),
                            span: s.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// The spans of trace `trace_id`, once at least `n` have arrived
    /// (polled for at most 5 s).
    async fn wait_for(&self, trace_id: &str, n: usize) -> Vec<Exported> {
        let end = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let spans: Vec<_> = self
                .spans()
                .into_iter()
                .filter(|e| e.span["traceId"] == trace_id)
                .collect();
            if spans.len() >= n {
                return spans;
            }
            assert!(
                tokio::time::Instant::now() < end,
                "{} of {n} spans of trace {trace_id} within 5 s; received: {:#?}",
                spans.len(),
                self.spans()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The `value` of attribute `key` (an OTLP `AnyValue`), if present.
fn attr<'a>(attrs: &'a Value, key: &str) -> Option<&'a Value> {
    attrs
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

fn str_attr<'a>(span: &'a Value, key: &str) -> &'a str {
    attr(&span["attributes"], key)
        .unwrap_or_else(|| panic!("no attribute {key} on {span:#}"))["stringValue"]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a stringValue on {span:#}"))
}

/// An int attribute: OTLP JSON carries 64-bit ints as decimal strings.
fn int_attr<'a>(span: &'a Value, key: &str) -> &'a str {
    attr(&span["attributes"], key)
        .unwrap_or_else(|| panic!("no attribute {key} on {span:#}"))["intValue"]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not an intValue string on {span:#}"))
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn nanos(span: &Value, field: &str) -> u64 {
    span[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a decimal string on {span:#}"))
        .parse()
        .unwrap()
}

fn kind(spans: &[Exported], k: u64) -> Vec<Value> {
    let mut v: Vec<Value> = spans
        .iter()
        .filter(|e| e.span["kind"] == k)
        .map(|e| e.span.clone())
        .collect();
    v.sort_by_key(|s| nanos(s, "startTimeUnixNano"));
    v
}

/// The values of header `name` in a raw request head.
fn header_values(head: &str, name: &str) -> Vec<String> {
    head.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .collect()
}

/// A raw upstream that answers every request with `body` (closing the
/// connection after it) and keeps each request head.
async fn recording_upstream(body: Value) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let h = heads.clone();
    let body = serde_json::to_string(&body).unwrap();
    let addr = raw_upstream(move |mut s| {
        let (h, body) = (h.clone(), body.clone());
        async move {
            let req = read_request(&mut s).await;
            h.lock().unwrap().push(req.head);
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.flush().await;
        }
    })
    .await;
    (addr, heads)
}

async fn post_traced(addr: SocketAddr, body: Value, headers: &[(&str, &str)]) -> Reply {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    send(
        addr,
        "POST",
        "/v1/chat/completions",
        serde_json::to_vec(&body).unwrap(),
        &h,
    )
    .await
}

/// One fallback hop under a client's sampled `traceparent`: the SERVER
/// span continues the client's trace, each attempt is a CLIENT span under
/// it, and each upstream got the `traceparent` of its own attempt.
#[tokio::test]
async fn fallback_hop_is_one_server_span_with_a_client_span_per_attempt() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";
    let otel = collector().await;
    let emu = default_emulator().await;
    let (backup, heads) = recording_upstream(json!({
        "id": "chatcmpl-trace-0001",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "deepseek-chat-0324",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    }))
    .await;
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: primary, type: openai, baseUrl: "http://{}", apiTokens: ["down-trace-000001"] }}
  - {{ id: backup, type: deepseek, baseUrl: "http://{backup}", apiTokens: ["sk-backup-00000001"] }}
routes:
  - name: traced
    models: ["trace-*"]
    provider: primary
    fallback: {{ targets: [{{ provider: backup, model: deepseek-chat }}] }}
otel: {{ endpoint: "http://{}", serviceName: "switchyard-trace-test", sampleRatio: 1.0 }}
"#,
        emu.addr, otel.addr
    ))
    .await;

    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let r = post_traced(
        gw.addr,
        chat("trace-model"),
        &[("traceparent", &traceparent)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchyard-provider"), Some("backup"));
    let reply = r.json();
    let usage = &reply["usage"];

    otel.wait_for(TRACE, 3).await;
    // All spans of a request are exported together; give a stray
    // duplicate a moment to show up before counting exactly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spans: Vec<_> = otel
        .spans()
        .into_iter()
        .filter(|e| e.span["traceId"] == TRACE)
        .collect();
    assert_eq!(
        spans.len(),
        3,
        "one SERVER and two CLIENT spans: {spans:#?}"
    );

    for e in otel.exports() {
        assert_eq!(e.method, "POST");
        assert_eq!(e.path, "/v1/traces");
        assert_eq!(e.content_type.as_deref(), Some("application/json"));
        assert!(
            !String::from_utf8_lossy(&e.body).contains("down-trace-000001"),
            "an exported span carries a whole credential"
        );
    }
    for e in &spans {
        let service = attr(&e.resource["attributes"], "service.name").unwrap();
        assert_eq!(service["stringValue"], "switchyard-trace-test");
        let s = &e.span;
        assert!(is_lower_hex(s["traceId"].as_str().unwrap(), 32), "{s:#}");
        assert!(is_lower_hex(s["spanId"].as_str().unwrap(), 16), "{s:#}");
        assert!(
            nanos(s, "startTimeUnixNano") <= nanos(s, "endTimeUnixNano"),
            "{s:#}"
        );
    }

    let servers = kind(&spans, 2);
    assert_eq!(servers.len(), 1, "exactly one SERVER span: {spans:#?}");
    let server = &servers[0];
    assert_eq!(server["name"], "chat trace-model");
    assert_eq!(
        server["parentSpanId"], PARENT,
        "a child of the client's span"
    );
    let server_id = server["spanId"].as_str().unwrap();
    assert_ne!(server_id, PARENT, "the gateway's own span id");
    assert_ne!(
        server["status"]["code"], 2,
        "the request succeeded: {server:#}"
    );
    assert_eq!(str_attr(server, "gen_ai.operation.name"), "chat");
    assert_eq!(
        str_attr(server, "gen_ai.system"),
        "deepseek",
        "the system that served"
    );
    assert_eq!(str_attr(server, "gen_ai.request.model"), "trace-model");
    assert_eq!(
        str_attr(server, "gen_ai.response.model"),
        "deepseek-chat-0324",
        "the model the provider reported"
    );
    assert_eq!(
        int_attr(server, "gen_ai.usage.input_tokens"),
        usage["prompt_tokens"].to_string(),
        "the usage the client got: {usage}"
    );
    assert_eq!(
        int_attr(server, "gen_ai.usage.output_tokens"),
        usage["completion_tokens"].to_string()
    );
    assert_eq!(int_attr(server, "gen_ai.usage.input_tokens"), "11");
    assert_eq!(int_attr(server, "gen_ai.usage.output_tokens"), "7");
    let reasons = attr(&server["attributes"], "gen_ai.response.finish_reasons")
        .expect("gen_ai.response.finish_reasons");
    assert_eq!(
        reasons["arrayValue"]["values"],
        json!([{"stringValue": "stop"}])
    );
    assert_eq!(int_attr(server, "http.response.status_code"), "200");

    let clients = kind(&spans, 3);
    assert_eq!(clients.len(), 2, "one CLIENT span per attempt: {spans:#?}");
    for c in &clients {
        assert_eq!(c["parentSpanId"], server_id, "{c:#}");
        assert_ne!(c["spanId"], server_id);
    }
    assert_ne!(clients[0]["spanId"], clients[1]["spanId"]);
    let (failed, served) = (&clients[0], &clients[1]);
    assert_eq!(failed["name"], "chat trace-model");
    assert_eq!(failed["status"]["code"], 2, "an error status: {failed:#}");
    assert_eq!(str_attr(failed, "error.type"), "503");
    assert_eq!(int_attr(failed, "http.response.status_code"), "503");
    assert_eq!(str_attr(failed, "gen_ai.system"), "openai");
    assert_eq!(served["name"], "chat deepseek-chat");
    assert_eq!(int_attr(served, "http.response.status_code"), "200");
    assert_ne!(served["status"]["code"], 2, "{served:#}");
    assert!(
        attr(&served["attributes"], "error.type").is_none(),
        "{served:#}"
    );

    // Each upstream saw its own attempt's span as the parent.
    let tried = emu.emulator.requests();
    assert_eq!(tried.len(), 1);
    let sent: Vec<_> = tried[0]
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
        .map(|(_, v)| v.as_str())
        .collect();
    let first = format!("00-{TRACE}-{}-01", failed["spanId"].as_str().unwrap());
    assert_eq!(sent, [first.as_str()], "the first upstream's traceparent");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    let second = format!("00-{TRACE}-{}-01", served["spanId"].as_str().unwrap());
    assert_eq!(
        header_values(&heads[0], "traceparent"),
        [second],
        "the second upstream's traceparent: {}",
        heads[0]
    );

    // The exporter's own counts are on /metrics.
    let want = "switchyard_trace_spans_total{result=\"exported\"} 3";
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let m = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
        if m.contains(want) {
            assert!(
                m.contains("switchyard_trace_spans_total{result=\"dropped\"} 0"),
                "{m}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{want} never appeared: {m}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A streamed answer: the SERVER span has the usage of the stream's usage
/// chunk, as the client received it.
#[tokio::test]
async fn streamed_chat_span_has_the_usage_chunk() {
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const PARENT: &str = "b7ad6b7169203331";
    let otel = collector().await;
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "sk-stream-0000001",
        &format!("otel: {{ endpoint: \"http://{}\" }}", otel.addr),
    )
    .await;
    let body = json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "Tell me a story"}]
    });
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let r = post_traced(gw.addr, body, &[("traceparent", &traceparent)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let data = sse_data(&r.body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let usages: Vec<Value> = data
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter(|c| c["usage"].is_object())
        .map(|c| c["usage"].clone())
        .collect();
    assert_eq!(usages.len(), 1, "one usage chunk: {data:?}");
    let usage = &usages[0];
    let (input, output) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    assert!(input > 0 && output > 0, "{usage}");

    let spans = otel.wait_for(TRACE, 2).await;
    assert_eq!(
        spans[0].resource["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|kv| kv["key"] == "service.name")
            .unwrap()["value"]["stringValue"],
        "switchyard",
        "the default serviceName"
    );
    let servers = kind(&spans, 2);
    assert_eq!(servers.len(), 1, "{spans:#?}");
    let server = &servers[0];
    assert_eq!(server["parentSpanId"], PARENT);
    assert_eq!(server["name"], "chat gpt-4o-mini");
    assert_eq!(
        int_attr(server, "gen_ai.usage.input_tokens"),
        input.to_string()
    );
    assert_eq!(
        int_attr(server, "gen_ai.usage.output_tokens"),
        output.to_string()
    );
    let reasons = attr(&server["attributes"], "gen_ai.response.finish_reasons")
        .expect("gen_ai.response.finish_reasons");
    assert_eq!(
        reasons["arrayValue"]["values"],
        json!([{"stringValue": "stop"}])
    );
    let clients = kind(&spans, 3);
    assert_eq!(clients.len(), 1, "{spans:#?}");
    assert_eq!(clients[0]["parentSpanId"], server["spanId"]);
    assert_eq!(int_attr(&clients[0], "http.response.status_code"), "200");
    let sent: Vec<_> = emu.emulator.requests()[0]
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(
        sent,
        [format!(
            "00-{TRACE}-{}-01",
            clients[0]["spanId"].as_str().unwrap()
        )]
    );
}

/// `sampleRatio: 0` records no new trace, but a client's sampled
/// `traceparent` is followed (parent-based sampling), and an unsampled one
/// is too.
#[tokio::test]
async fn ratio_zero_samples_only_what_the_client_sampled() {
    const TRACE: &str = "5c0b2f6a7e9d41b3a8f6e2d1c0b9a877";
    const UNSAMPLED: &str = "6d1c3a7b8f0e52c4b9a7f3e2d1c0ba88";
    let otel = collector().await;
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "sk-ratio-0000001",
        &format!(
            "otel: {{ endpoint: \"http://{}\", sampleRatio: 0.0 }}",
            otel.addr
        ),
    )
    .await;
    for _ in 0..5 {
        let r = post(gw.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
        assert_eq!(r.status, 200);
    }
    let unsampled = format!("00-{UNSAMPLED}-1111111111111111-00");
    let r = post_traced(gw.addr, chat("gpt-4o-mini"), &[("traceparent", &unsampled)]).await;
    assert_eq!(r.status, 200);
    // Two flush intervals (1 s each) with nothing to send.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(
        otel.exports().is_empty(),
        "nothing is exported at ratio 0 without a sampled parent: {:#?}",
        otel.spans()
    );

    let sampled = format!("00-{TRACE}-2222222222222222-01");
    let r = post_traced(gw.addr, chat("gpt-4o-mini"), &[("traceparent", &sampled)]).await;
    assert_eq!(r.status, 200);
    let spans = otel.wait_for(TRACE, 2).await;
    let servers = kind(&spans, 2);
    assert_eq!(servers.len(), 1, "{spans:#?}");
    assert_eq!(servers[0]["parentSpanId"], "2222222222222222");
    let clients = kind(&spans, 3);
    assert_eq!(clients.len(), 1, "{spans:#?}");
    assert_eq!(clients[0]["parentSpanId"], servers[0]["spanId"]);
    assert!(
        otel.spans().iter().all(|e| e.span["traceId"] == TRACE),
        "only the sampled trace is exported: {:#?}",
        otel.spans()
    );
}

/// A whole chat answer with usage, for upstreams that only record headers.
fn short_answer() -> Value {
    json!({
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    })
}

/// Without `otel`, the client's trace context reaches the upstream as it
/// was sent.
#[tokio::test]
async fn tracing_off_forwards_the_client_trace_context_untouched() {
    let (up, heads) = recording_upstream(short_answer()).await;
    let gw = simple_gateway(up, "sk-off-00000001", "").await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    let r = post_traced(
        gw.addr,
        chat("gpt-4o-mini"),
        &[("traceparent", traceparent), ("tracestate", tracestate)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    assert_eq!(
        header_values(&heads[0], "traceparent"),
        [traceparent],
        "{}",
        heads[0]
    );
    assert_eq!(
        header_values(&heads[0], "tracestate"),
        [tracestate],
        "{}",
        heads[0]
    );
}

/// With tracing on, the upstream gets the attempt's own `traceparent` (same
/// trace) and the client's `tracestate` unchanged.
#[tokio::test]
async fn tracing_on_keeps_the_client_tracestate() {
    let otel = collector().await;
    let (up, heads) = recording_upstream(short_answer()).await;
    let gw = simple_gateway(
        up,
        "sk-on-000000001",
        &format!("otel: {{ endpoint: \"http://{}\" }}", otel.addr),
    )
    .await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    let r = post_traced(
        gw.addr,
        chat("gpt-4o-mini"),
        &[("traceparent", traceparent), ("tracestate", tracestate)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    let sent = header_values(&heads[0], "traceparent");
    assert_eq!(sent.len(), 1, "{}", heads[0]);
    assert!(
        sent[0].starts_with("00-0af7651916cd43dd8448eb211c80319c-") && sent[0] != traceparent,
        "the attempt's own span in the client's trace: {}",
        heads[0]
    );
    assert_eq!(
        header_values(&heads[0], "tracestate"),
        [tracestate],
        "{}",
        heads[0]
    );
}

/// Tracing on but the request not sampled: nothing is recorded, and the
/// upstream still gets a `traceparent` in the client's trace, flag 00.
#[tokio::test]
async fn unsampled_requests_still_propagate_the_trace() {
    let otel = collector().await;
    let (up, heads) = recording_upstream(short_answer()).await;
    let gw = simple_gateway(
        up,
        "sk-uns-00000001",
        &format!(
            "otel: {{ endpoint: \"http://{}\", sampleRatio: 1.0 }}",
            otel.addr
        ),
    )
    .await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    let r = post_traced(
        gw.addr,
        chat("gpt-4o-mini"),
        &[("traceparent", traceparent)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post_traced(gw.addr, chat("gpt-4o-mini"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    let sent = header_values(&heads[0], "traceparent");
    assert_eq!(sent.len(), 1, "{}", heads[0]);
    assert!(
        sent[0].starts_with("00-0af7651916cd43dd8448eb211c80319c-") && sent[0].ends_with("-00"),
        "the client's trace, not sampled: {}",
        heads[0]
    );
    assert_ne!(sent[0], traceparent, "the gateway's own span id");
    // Without a client traceparent, a sampled one of the gateway's own.
    let own = header_values(&heads[1], "traceparent");
    assert!(own.len() == 1 && own[0].ends_with("-01"), "{}", heads[1]);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        !otel
            .spans()
            .iter()
            .any(|s| s.span["traceId"] == "0af7651916cd43dd8448eb211c80319c"),
        "the unsampled trace is not exported"
    );
}
