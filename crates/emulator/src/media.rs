//! The OpenAI pass-through APIs: images, audio, moderations, rerank, and
//! files and batches (kept in memory). Matched by path suffix like the
//! rest of the OpenAI wire format (Azure paths need `api-version`);
//! credentials behave as everywhere (see the crate docs).
//!
//! | Suffix | Method | Answer |
//! |---|---|---|
//! | `/images/generations` | POST JSON | `{created, data: [{b64_json}` (a 1x1 PNG) or `{url}` with `response_format: url`], usage}` |
//! | `/images/edits` | POST multipart (`image` or `image[]`, `prompt`) | as generations |
//! | `/audio/transcriptions`, `/audio/translations` | POST multipart (`file`, `model`) | `{"text": "Emulated transcription of <filename> (<bytes> bytes, <content-type>).", usage}`; `response_format: text` gives the text as `text/plain` |
//! | `/audio/speech` | POST JSON (`model`, `input`, `voice`) | audio bytes (`ID3` first) by the content type of `response_format` (default `audio/mpeg`), streamed in `stream_chunks` chunks of 512 bytes |
//! | `/moderations` | POST JSON (`input` string or list) | one result per input; flagged when it contains `flag-me` |
//! | `/rerank` | POST JSON (`model`, `query`, `documents`, `top_n`) | results by word overlap with the query, best first; `meta.billed_units.search_units: 1` and `usage.total_tokens` |
//! | `/files` | POST multipart (`file`, `purpose`), GET | a file object; the list |
//! | `/files/{id}` | GET, DELETE | the file object; `{id, object: "file", deleted: true}` |
//! | `/files/{id}/content` | GET | the bytes uploaded |
//! | `/batches` | POST JSON (`input_file_id` of an uploaded file, `endpoint`, `completion_window`), GET | a batch (`validating`); the list |
//! | `/batches/{id}`, `/batches/{id}/cancel` | GET, POST | the batch; the batch `cancelled` |
//!
//! Usage, where the answer has one: input tokens = words of the prompt or
//! input (uploads: bytes / 1000, at least 1), output tokens = words of the
//! text (images: 100 per image). `nousage-` tokens leave it out.

use bytes::Bytes;
use http::header::ALLOW;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::body::EmuBody;
use crate::record::Record;
use crate::server::{error, gate, header_str, json as json_response, respond};
use crate::wire;
use crate::{Inner, files};

/// A 1x1 transparent PNG, base64.
pub const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    ImagesGenerations,
    ImagesEdits,
    Transcriptions,
    Translations,
    Speech,
    Moderations,
    Rerank,
    Files,
    Batches,
}

pub(crate) fn classify(path: &str) -> Option<Api> {
    let suffixes = [
        ("/images/generations", Api::ImagesGenerations),
        ("/images/edits", Api::ImagesEdits),
        ("/audio/transcriptions", Api::Transcriptions),
        ("/audio/translations", Api::Translations),
        ("/audio/speech", Api::Speech),
        ("/moderations", Api::Moderations),
        ("/rerank", Api::Rerank),
    ];
    if let Some((_, api)) = suffixes.iter().find(|(s, _)| path.ends_with(s)) {
        return Some(*api);
    }
    resource(path).map(|(api, _)| api)
}

/// `/files...` or `/batches...`: the API and the segments after it.
pub(crate) fn resource(path: &str) -> Option<(Api, Vec<&str>)> {
    for (mark, api) in [("/files", Api::Files), ("/batches", Api::Batches)] {
        if let Some(i) = path.rfind(mark) {
            let rest = &path[i + mark.len()..];
            let segs: Vec<&str> = rest.split('/').skip(1).collect();
            let ok = match (api, segs.as_slice()) {
                (_, []) => true,
                (Api::Files, [id]) | (Api::Batches, [id]) => !id.is_empty(),
                (Api::Files, [id, "content"]) | (Api::Batches, [id, "cancel"]) => !id.is_empty(),
                _ => false,
            };
            if ok && (rest.is_empty() || rest.starts_with('/')) {
                return Some((api, segs));
            }
        }
    }
    None
}

/// One part of a multipart form.
pub(crate) struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

/// The parts of a `multipart/form-data` body (`None` when it is not one).
fn form<'a>(content_type: Option<&str>, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let ct = content_type?;
    if !ct
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return None;
    }
    let b = ct.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })?;
    let delim = format!("--{b}");
    let mut parts = Vec::new();
    let mut pieces = split(body, format!("\r\n{delim}").as_bytes());
    // The first piece starts with the first delimiter.
    let first = pieces.first_mut()?;
    *first = first.strip_prefix(delim.as_bytes())?;
    for piece in pieces {
        if piece.starts_with(b"--") {
            break;
        }
        let piece = piece.strip_prefix(b"\r\n")?;
        let end = find(piece, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&piece[..end]).ok()?;
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data: &piece[end + 4..],
        };
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(v.trim().to_string());
            } else if k.trim().eq_ignore_ascii_case("content-disposition") {
                for p in v.split(';') {
                    if let Some((pk, pv)) = p.split_once('=') {
                        let pv = pv.trim().trim_matches('"').to_string();
                        match pk.trim() {
                            "name" => part.name = pv,
                            "filename" => part.filename = Some(pv),
                            _ => {}
                        }
                    }
                }
            }
        }
        parts.push(part);
    }
    Some(parts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(hay, sep) {
        out.push(&hay[..i]);
        hay = &hay[i + sep.len()..];
    }
    out.push(hay);
    out
}

pub(crate) fn field<'p>(parts: &'p [Part<'_>], name: &str) -> Option<&'p Part<'p>> {
    parts.iter().find(|p| p.name == name)
}

pub(crate) fn text<'p>(parts: &'p [Part<'_>], name: &str) -> Option<&'p str> {
    field(parts, name).and_then(|p| std::str::from_utf8(p.data).ok())
}

fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

pub(crate) fn bad(msg: &str) -> Response<EmuBody> {
    error(StatusCode::BAD_REQUEST, msg, None)
}

pub(crate) fn not_found(msg: &str) -> Response<EmuBody> {
    error(StatusCode::NOT_FOUND, msg, Some("not_found"))
}

pub(crate) fn ok_json(v: &Value, cut: bool) -> Response<EmuBody> {
    let body = Bytes::from(serde_json::to_vec(v).unwrap_or_default());
    if cut {
        respond(
            StatusCode::OK,
            crate::server::APPLICATION_JSON,
            EmuBody::cut(body),
        )
    } else {
        json_response(StatusCode::OK, body)
    }
}

pub(crate) async fn handle(
    inner: &Inner,
    parts: &Parts,
    body: &Bytes,
    api: Api,
    id: &[u8; 16],
) -> Response<EmuBody> {
    let headers = &parts.headers;
    let content_type = header_str(headers, "content-type");
    let multipart = form(content_type, body);
    let json_body: Option<Value> = serde_json::from_slice(body).ok();
    let model = match (&multipart, &json_body) {
        (Some(p), _) => text(p, "model").map(str::to_string),
        (None, Some(v)) => v.get("model").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    let credential = wire::find_credential(|n| header_str(headers, n));
    let token = credential.map_or("", |(t, _)| t);
    inner.record(Record::new(
        &parts.method,
        &parts.uri,
        headers,
        model.as_deref(),
        false,
        credential,
    ));
    if !inner.cfg.latency.is_zero() {
        tokio::time::sleep(inner.cfg.latency).await;
    }
    let path = parts.uri.path();
    let wanted: &[Method] = match resource(path) {
        Some((_, segs)) => match (api, segs.as_slice()) {
            (_, []) => &[Method::GET, Method::POST],
            (Api::Files, [_]) => &[Method::GET, Method::DELETE],
            (Api::Batches, [_, "cancel"]) => &[Method::POST],
            _ => &[Method::GET],
        },
        None => &[Method::POST],
    };
    if !wanted.contains(&parts.method) {
        let allow: Vec<&str> = wanted.iter().map(Method::as_str).collect();
        let msg = format!(
            "Method {} not allowed for {path}; use {}.",
            parts.method,
            allow.join(" or ")
        );
        let mut r = error(
            StatusCode::METHOD_NOT_ALLOWED,
            &msg,
            Some("method_not_allowed"),
        );
        if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
            r.headers_mut().insert(ALLOW, v);
        }
        return r;
    }
    // Azure: per deployment, or resource-wide (files, batches); its v1
    // API (and Groq's `/openai/v1`) takes no api-version.
    if path.contains("/deployments/")
        || (path.starts_with("/openai/") && !path.starts_with("/openai/v1/"))
    {
        let has = parts.uri.query().is_some_and(|q| {
            q.split('&')
                .any(|kv| kv.len() > 12 && kv.starts_with("api-version="))
        });
        if !has {
            return bad("Missing required query parameter 'api-version'.");
        }
    }
    let (cut, usage) = match gate(inner, token).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let rid = std::str::from_utf8(id).unwrap_or("0");
    let needs_model = !matches!(api, Api::Files | Api::Batches | Api::Moderations);
    if needs_model && api != Api::ImagesGenerations && api != Api::ImagesEdits && model.is_none() {
        return bad("you must provide a model parameter");
    }
    match api {
        Api::ImagesGenerations | Api::ImagesEdits => {
            let (prompt, n, url) = match (&multipart, &json_body) {
                (Some(p), _) => {
                    if field(p, "image").or(field(p, "image[]")).is_none() {
                        return bad("image: an image file is required");
                    }
                    let n = text(p, "n").and_then(|n| n.trim().parse().ok());
                    let url = text(p, "response_format") == Some("url");
                    (text(p, "prompt").unwrap_or("").to_string(), n, url)
                }
                (None, Some(v)) if api == Api::ImagesGenerations => (
                    v.get("prompt")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    v.get("n").and_then(Value::as_u64),
                    v.get("response_format").and_then(Value::as_str) == Some("url"),
                ),
                _ if api == Api::ImagesEdits => {
                    return bad("images/edits takes a multipart/form-data body");
                }
                _ => return bad("We could not parse the JSON body of your request."),
            };
            if prompt.trim().is_empty() {
                return bad("prompt: a prompt is required");
            }
            let n = n.unwrap_or(1).clamp(1, 10);
            let data: Vec<Value> = (0..n)
                .map(|i| {
                    if url {
                        json!({"url": format!("https://emulator.invalid/images/{rid}-{i}.png"), "revised_prompt": prompt})
                    } else {
                        json!({"b64_json": PNG_B64, "revised_prompt": prompt})
                    }
                })
                .collect();
            let mut v = json!({"created": wire::unix_now(), "data": data});
            if usage {
                let input = words(&prompt).max(1);
                v["usage"] = json!({"input_tokens": input, "output_tokens": 100 * n, "total_tokens": input + 100 * n});
            }
            ok_json(&v, cut)
        }
        Api::Transcriptions | Api::Translations => {
            let Some(p) = &multipart else {
                return bad("this endpoint takes a multipart/form-data body");
            };
            let Some(file) = field(p, "file") else {
                return bad("file: an audio file is required");
            };
            let verb = if api == Api::Transcriptions {
                "transcription"
            } else {
                "translation"
            };
            let t = format!(
                "Emulated {verb} of {} ({} bytes, {}).",
                file.filename.as_deref().unwrap_or("audio"),
                file.data.len(),
                file.content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream")
            );
            if text(p, "response_format") == Some("text") {
                return respond(
                    StatusCode::OK,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                    EmuBody::full(Bytes::from(t + "\n")),
                );
            }
            let mut v = json!({"text": t});
            if usage {
                let input = (file.data.len() as u64 / 1000).max(1);
                let output = words(v["text"].as_str().unwrap_or(""));
                v["usage"] = json!({"type": "tokens", "input_tokens": input, "output_tokens": output, "total_tokens": input + output});
            }
            ok_json(&v, cut)
        }
        Api::Speech => {
            let Some(v) = &json_body else {
                return bad("We could not parse the JSON body of your request.");
            };
            let input = v.get("input").and_then(Value::as_str).unwrap_or("");
            if input.is_empty() {
                return bad("input: text to speak is required");
            }
            let ct = match v.get("response_format").and_then(Value::as_str) {
                Some("wav") => "audio/wav",
                Some("opus") => "audio/opus",
                Some("aac") => "audio/aac",
                Some("flac") => "audio/flac",
                Some("pcm") => "audio/pcm",
                _ => "audio/mpeg",
            };
            let chunks = inner.cfg.stream_chunks.max(1);
            let mut data = Vec::with_capacity(chunks * 512);
            let mut ends = Vec::with_capacity(chunks);
            for c in 0..chunks {
                for i in 0..512usize {
                    data.push(((c * 31 + i * 7) % 251) as u8);
                }
                ends.push(data.len());
            }
            data[..4].copy_from_slice(b"ID3\x04");
            respond(
                StatusCode::OK,
                HeaderValue::from_static(ct),
                EmuBody::events(
                    Bytes::from(data),
                    ends,
                    inner.cfg.chunk_delay,
                    cut.then_some(2),
                ),
            )
        }
        Api::Moderations => {
            let Some(v) = &json_body else {
                return bad("We could not parse the JSON body of your request.");
            };
            let inputs: Vec<String> = match v.get("input") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    })
                    .collect(),
                _ => return bad("input: a string or a list is required"),
            };
            let results: Vec<Value> = inputs
                .iter()
                .map(|i| {
                    let flagged = i.contains("flag-me");
                    let score = if flagged { 0.98 } else { 0.0001 };
                    json!({
                        "flagged": flagged,
                        "categories": {"harassment": flagged, "violence": false, "hate": false, "self-harm": false, "sexual": false},
                        "category_scores": {"harassment": score, "violence": 0.0001, "hate": 0.0001, "self-harm": 0.0001, "sexual": 0.0001},
                        "category_applied_input_types": {"harassment": ["text"], "violence": ["text"], "hate": ["text"], "self-harm": ["text"], "sexual": ["text"]},
                    })
                })
                .collect();
            let model = model.as_deref().unwrap_or("omni-moderation-latest");
            ok_json(
                &json!({"id": format!("modr-{rid}"), "model": model, "results": results}),
                cut,
            )
        }
        Api::Rerank => rerank(
            json_body.as_ref(),
            model.as_deref().unwrap_or(""),
            rid,
            usage,
            cut,
        ),
        Api::Files | Api::Batches => files::resources(
            inner,
            parts,
            api,
            multipart.as_deref(),
            json_body.as_ref(),
            rid,
        ),
    }
}

fn rerank(v: Option<&Value>, model: &str, rid: &str, usage: bool, cut: bool) -> Response<EmuBody> {
    let Some(v) = v else {
        return bad("We could not parse the JSON body of your request.");
    };
    let query = v.get("query").and_then(Value::as_str).unwrap_or("");
    let Some(docs) = v.get("documents").and_then(Value::as_array) else {
        return bad("documents: a list is required");
    };
    if query.is_empty() {
        return bad("query: a query is required");
    }
    let q: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let texts: Vec<String> = docs
        .iter()
        .map(|d| match d {
            Value::String(s) => s.clone(),
            other => other
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
        .collect();
    let mut scored: Vec<(usize, f64)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let w: Vec<String> = t.split_whitespace().map(str::to_lowercase).collect();
            let hits = q.iter().filter(|x| w.contains(x)).count();
            (i, (hits as f64 + 1.0) / (q.len() as f64 + 2.0))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let top = v
        .get("top_n")
        .and_then(Value::as_u64)
        .map_or(scored.len(), |n| n as usize);
    let with_docs = v
        .get("return_documents")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let results: Vec<Value> = scored
        .iter()
        .take(top)
        .map(|(i, s)| {
            let mut r = json!({"index": i, "relevance_score": s});
            if with_docs {
                r["document"] = json!({"text": texts[*i]});
            }
            r
        })
        .collect();
    let mut out = json!({"id": format!("rerank-{rid}"), "model": model, "results": results,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}});
    if usage {
        let total = words(query) + texts.iter().map(|t| words(t)).sum::<u64>();
        out["usage"] = json!({"total_tokens": total});
    } else if let Some(m) = out.get_mut("meta") {
        m["billed_units"] = json!({});
    }
    ok_json(&out, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(classify("/v1/audio/speech"), Some(Api::Speech));
        assert_eq!(classify("/v1/files"), Some(Api::Files));
        assert_eq!(classify("/openai/files/f1/content"), Some(Api::Files));
        assert_eq!(classify("/v1/batches/b1/cancel"), Some(Api::Batches));
        assert_eq!(classify("/v1/batches/b1/nope"), None);
        assert_eq!(classify("/v1/chat/completions"), None);
        assert_eq!(classify("/v1/messages/count_tokens"), None);
    }

    #[test]
    fn forms() {
        let body = b"--xx\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n\r\ndata\r\n--xx--\r\n";
        let p = form(Some("multipart/form-data; boundary=xx"), body).unwrap();
        assert_eq!(text(&p, "model"), Some("whisper-1"));
        let f = field(&p, "file").unwrap();
        assert_eq!(f.data, b"RIFF\r\n\r\ndata");
        assert_eq!(f.filename.as_deref(), Some("a.wav"));
        assert!(form(Some("application/json"), body).is_none());
    }
}
