//! The pass-through APIs routed by model (images, audio, moderations,
//! rerank), end to end through the gateway and the emulator: routing and
//! mapping, uploads read once and sent on, binary answers streamed back,
//! usage where the provider reports it, providers without the API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use serde_json::json;
use switchyard_emulator::MockConfig;

const BOUNDARY: &str = "----switchyard-test-7d3f";

/// A multipart form: text fields, then one file part.
fn form(fields: &[(&str, &str)], file: Option<(&str, &str, &str, &[u8])>) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, filename, ct, data)) = file {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n")
                .as_bytes(),
        );
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

const FORM_TYPE: &str = "multipart/form-data; boundary=----switchyard-test-7d3f";

async fn upload(gw: std::net::SocketAddr, path: &str, body: Vec<u8>) -> Reply {
    send(gw, "POST", path, body, &[("content-type", FORM_TYPE)]).await
}

/// Bytes that look like audio and contain CRLFs and dashes (a parser
/// that looked into the file would trip on them).
fn audio(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    v[..4].copy_from_slice(b"RIFF");
    for i in (1000..len).step_by(4096) {
        v[i..i + 4].copy_from_slice(b"\r\n--");
    }
    v
}

fn providers(emu: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"
providers:
  - id: oai
    type: openai
    baseUrl: "http://{emu}"
    apiTokens: ["sk-oai-0000000001"]
    modelMapping: {{ "whisper-1": "whisper-large-v3" }}
  - id: ds
    type: deepseek
    baseUrl: "http://{emu}"
    apiTokens: ["sk-ds-00000000001"]
  - id: tog
    type: together-ai
    baseUrl: "http://{emu}"
    apiTokens: ["sk-tog-0000000001"]
routes:
  - {{ name: ds, models: ["deepseek-*"], provider: ds }}
  - name: mixed
    models: ["mix-*"]
    provider: ds
    fallback: {{ targets: [{{ provider: oai }}] }}
  - {{ name: rerank, models: ["rerank-*"], provider: tog }}
  - {{ name: rest, provider: oai }}
{extra}
"#
    )
}

#[tokio::test]
async fn images_are_routed_by_model_and_their_usage_counted() {
    let emu = default_emulator().await;
    let log = log_path("media", "images");
    let gw = gateway(&providers(
        emu.addr,
        &format!("log: {{ access: \"{}\" }}", log.display()),
    ))
    .await;
    let r = post_id(
        gw.addr,
        "/v1/images/generations",
        "img-1",
        json!({"model": "gpt-image-1", "prompt": "a red fox in snow", "n": 2}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert!(
        v["data"][0]["b64_json"]
            .as_str()
            .unwrap()
            .starts_with("iVBOR")
    );
    assert_eq!(r.header("x-switchyard-provider"), Some("oai"));
    // Without a model: routed as OpenAI's default, and sent with it.
    let r = post(
        gw.addr,
        "/v1/images/generations",
        json!({"prompt": "a cat", "response_format": "url"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.json()["data"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let seen = emu.emulator.requests();
    assert_eq!(seen.last().unwrap().model.as_deref(), Some("dall-e-2"));
    assert_eq!(seen.last().unwrap().path, "/v1/images/generations");

    // Edits: a multipart upload with the image.
    let body = form(
        &[("model", "gpt-image-1"), ("prompt", "add a hat")],
        Some(("image", "cat.png", "image/png", b"\x89PNG\r\n\x1a\n")),
    );
    let r = upload(gw.addr, "/v1/images/edits", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1);

    wait_until(Duration::from_secs(3), "the access log line", || async {
        log_lines(&log).contains_key("img-1")
    })
    .await;
    let line = &log_lines(&log)["img-1"];
    assert_eq!(line["api"], "images.generations");
    assert_eq!(line["provider"], "oai");
    assert_eq!(line["input_token"], 5);
    assert_eq!(line["output_token"], 200);
    assert_eq!(line["token_estimated"], false);
}

#[tokio::test]
async fn a_large_upload_is_read_once_mapped_and_sent_on() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr, "")).await;
    // Far larger than one read from the socket.
    let data = audio(3 * 1024 * 1024 + 17);
    let body = form(
        &[("language", "en")],
        Some(("file", "speech.wav", "audio/wav", &data)),
    );
    // The model after the file: found without looking into it.
    let mut body = body;
    let end = body.len() - format!("--{BOUNDARY}--\r\n").len();
    body.truncate(end);
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--{BOUNDARY}--\r\n").as_bytes(),
    );
    let r = upload(gw.addr, "/v1/audio/transcriptions", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["text"],
        format!(
            "Emulated transcription of speech.wav ({} bytes, audio/wav).",
            data.len()
        )
    );
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(r.header("x-switchyard-model"), Some("whisper-large-v3"));
    let seen = emu.emulator.requests();
    let last = seen.last().unwrap();
    // modelMapping applied inside the form; the boundary went on with it.
    assert_eq!(last.model.as_deref(), Some("whisper-large-v3"));
    assert!(
        last.headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == FORM_TYPE),
        "{:?}",
        last.headers
    );

    let body = form(
        &[("model", "whisper-1"), ("response_format", "text")],
        Some(("file", "fr.mp3", "audio/mpeg", &audio(10_000))),
    );
    let r = upload(gw.addr, "/v1/audio/translations", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "Emulated translation of fr.mp3 (10000 bytes, audio/mpeg).\n"
    );
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
}

#[tokio::test]
async fn bad_uploads_are_refused_clearly() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(
        emu.addr,
        "server: { listen: \"127.0.0.1:0\", maxBodyBytes: 100000 }",
    ))
    .await;
    let body = form(
        &[("model", "whisper-1")],
        Some(("file", "a.wav", "audio/wav", &audio(200_000))),
    );
    let r = upload(gw.addr, "/v1/audio/transcriptions", body).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "request_too_large");
    assert!(r.text().contains("server.maxBodyBytes"), "{}", r.text());

    let r = post(
        gw.addr,
        "/v1/audio/transcriptions",
        json!({"model": "whisper-1"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid_form");
    assert!(r.text().contains("multipart/form-data"), "{}", r.text());

    let body = form(&[], Some(("file", "a.wav", "audio/wav", b"RIFF")));
    let r = upload(gw.addr, "/v1/audio/transcriptions", body).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "missing_model");

    let mut cut = form(&[("model", "whisper-1")], None);
    cut.truncate(cut.len() - 10);
    let r = upload(gw.addr, "/v1/audio/transcriptions", cut).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid_form");
    assert!(emu.emulator.requests().is_empty());
}

#[tokio::test]
async fn speech_is_streamed_back_with_its_content_type() {
    let emu = emulator(MockConfig {
        stream_chunks: 5,
        chunk_delay: Duration::from_millis(80),
        ..MockConfig::default()
    })
    .await;
    let gw = gateway(&providers(emu.addr, "")).await;
    let req = Request::post(format!("http://{}/v1/audio/speech", gw.addr))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({"model": "tts-1", "input": "Hello there", "voice": "alloy"}).to_string(),
        )))
        .unwrap();
    let started = Instant::now();
    let resp = tokio::time::timeout(Duration::from_secs(10), client().request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/mpeg");
    assert_eq!(resp.headers()["x-switchyard-provider"], "oai");
    let mut body = resp.into_body();
    let mut audio = Vec::new();
    let mut arrivals = Vec::new();
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .unwrap()
    {
        if let Ok(d) = frame.unwrap().into_data() {
            audio.extend_from_slice(&d);
            arrivals.push(started.elapsed());
        }
    }
    assert_eq!(audio.len(), 5 * 512);
    assert_eq!(&audio[..3], b"ID3");
    // Relayed as the provider sent it, not gathered first.
    assert!(arrivals.len() >= 3, "{arrivals:?}");
    assert!(
        *arrivals.last().unwrap() - arrivals[0] >= Duration::from_millis(200),
        "{arrivals:?}"
    );
}

#[tokio::test]
async fn moderations_and_rerank() {
    let emu = default_emulator().await;
    let log = log_path("media", "rerank");
    let gw = gateway(&providers(
        emu.addr,
        &format!("log: {{ access: \"{}\" }}", log.display()),
    ))
    .await;
    let r = post(
        gw.addr,
        "/v1/moderations",
        json!({"input": ["a kind word", "flag-me please"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["results"][0]["flagged"], false);
    assert_eq!(v["results"][1]["flagged"], true);
    assert_eq!(
        emu.emulator.requests().last().unwrap().model.as_deref(),
        Some("omni-moderation-latest")
    );

    for path in ["/v1/rerank", "/v2/rerank"] {
        let r = post_id(
            gw.addr,
            path,
            &format!("rr{}", &path[2..3]),
            json!({"model": "rerank-v1", "query": "red fox", "top_n": 2,
                   "documents": ["a blue whale", "the red fox jumps", "red wine"]}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["results"].as_array().unwrap().len(), 2);
        assert_eq!(v["results"][0]["index"], 1);
        assert_eq!(r.header("x-switchyard-provider"), Some("tog"));
    }
    wait_until(Duration::from_secs(3), "the access log line", || async {
        log_lines(&log).contains_key("rr1")
    })
    .await;
    let line = &log_lines(&log)["rr1"];
    assert_eq!(line["api"], "rerank");
    // usage.total_tokens: the query's and the documents' words.
    assert_eq!(line["input_token"], 2 + 3 + 4 + 2);
    assert_eq!(line["token_estimated"], false);
}

#[tokio::test]
async fn a_provider_without_the_api_is_skipped_or_named() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr, "")).await;
    let r = post(
        gw.addr,
        "/v1/images/generations",
        json!({"model": "deepseek-art", "prompt": "x"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], "unsupported_api");
    let msg = e["message"].as_str().unwrap();
    for part in ["`ds`", "deepseek", "images.generations", "openai"] {
        assert!(msg.contains(part), "{msg}");
    }
    // Rerank: OpenAI has none.
    let r = post(
        gw.addr,
        "/v1/rerank",
        json!({"model": "gpt-4o", "query": "q", "documents": ["d"]}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("together-ai"), "{}", r.text());
    // A fallback target that has it serves; the route's provider is skipped.
    emu.emulator.clear_requests();
    let r = post(
        gw.addr,
        "/v1/images/generations",
        json!({"model": "mix-art", "prompt": "x"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchyard-provider"), Some("oai"));
    assert_eq!(emu.emulator.requests().len(), 1);
}

#[tokio::test]
async fn credentials_and_consumers_work_as_for_chat() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: oai
    type: openai
    baseUrl: "http://{}"
    apiTokens: ["bad-key-00000001", "sk-good-00000001"]
    tokenSelection: round-robin
    retryOnFailure: {{ enabled: true, maxRetries: 1 }}
consumers:
  - {{ name: audio-team, keys: ["ck-audio-0000001"], models: ["whisper-*", "tts-*"] }}
"#,
        emu.addr
    ))
    .await;
    let auth = ("authorization", "Bearer ck-audio-0000001");
    for _ in 0..4 {
        let body = form(
            &[("model", "whisper-1")],
            Some(("file", "a.wav", "audio/wav", b"RIFF....WAVE")),
        );
        let r = send(
            gw.addr,
            "POST",
            "/v1/audio/transcriptions",
            body,
            &[("content-type", FORM_TYPE), auth],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let creds: Vec<String> = emu
        .emulator
        .requests()
        .iter()
        .filter_map(|r| r.credential.clone())
        .collect();
    assert!(creds.iter().any(|c| c.starts_with("bad-")), "{creds:?}");
    assert_eq!(creds.iter().filter(|c| c.starts_with("sk-good")).count(), 4);
    // The consumer's models bound the pass-through APIs too.
    let r = send(
        gw.addr,
        "POST",
        "/v1/images/generations",
        json!({"model": "dall-e-3", "prompt": "x"}).to_string(),
        &[("content-type", "application/json"), auth],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "model_not_allowed");
}
