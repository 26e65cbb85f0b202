//! Accept: which API a request calls, in which dialect, and its id.

use http::HeaderValue;
use switchyard_providers::{Api, Dialect};

use crate::upstream::headers::Forwarded;

pub enum Endpoint {
    Model(Ingress),
    /// Files and batches: no model; a provider named by the request.
    Direct(Ingress),
    Models,
    Health,
}

/// Where a request came in: its dialect and API, and for Gemini the model
/// and stream flag its URL carries.
#[derive(Clone, Debug)]
pub struct Ingress {
    pub dialect: Dialect,
    pub api: Api,
    pub path_model: Option<String>,
    pub path_stream: bool,
    /// What goes on to the provider from the client's headers.
    pub forwarded: Forwarded,
    /// Files and batches: the method, and the path after the API's own.
    pub resource: Option<Resource>,
}

/// A request to a resource of a provider's API (`GET /v1/files/{id}`).
#[derive(Clone, Debug)]
pub struct Resource {
    pub method: http::Method,
    /// After `/files` or `/batches`: empty, `/{id}`, `/{id}/content`, ...
    pub tail: Box<str>,
    pub query: Option<Box<str>>,
}

impl Ingress {
    pub fn new(dialect: Dialect, api: Api) -> Self {
        Ingress {
            dialect,
            api,
            path_model: None,
            path_stream: false,
            forwarded: Forwarded::default(),
            resource: None,
        }
    }
}

/// `/v1beta/models/{model}:generateContent` and `:streamGenerateContent`.
fn gemini_ingress(path: &str) -> Option<Ingress> {
    let rest = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, verb) = rest.rsplit_once(':')?;
    let stream = match verb {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    let model = percent_decode(model)?;
    if model.is_empty() {
        return None;
    }
    Some(Ingress {
        path_model: Some(model),
        path_stream: stream,
        ..Ingress::new(Dialect::Gemini, Api::ChatCompletions)
    })
}

/// `%XX` escapes decoded; `None` for a bad escape or non-UTF-8.
/// The first non-empty value of query parameter `name`, percent-decoded
/// (a malformed escape leaves the value as sent).
pub(crate) fn query_param(query: &str, name: &str) -> Option<Vec<u8>> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name && !v.is_empty())
            .then(|| percent_decode(v).map_or_else(|| v.as_bytes().to_vec(), String::into_bytes))
    })
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub fn endpoint_for(path: &str) -> Option<Endpoint> {
    if let Some(i) = gemini_ingress(path) {
        return Some(Endpoint::Model(i));
    }
    let p = path.strip_prefix("/v1").unwrap_or(path);
    let openai = |api| Endpoint::Model(Ingress::new(Dialect::OpenAi, api));
    Some(match p {
        "/chat/completions" => Endpoint::Model(Ingress::new(Dialect::OpenAi, Api::ChatCompletions)),
        "/completions" => Endpoint::Model(Ingress::new(Dialect::OpenAi, Api::Completions)),
        "/embeddings" => Endpoint::Model(Ingress::new(Dialect::OpenAi, Api::Embeddings)),
        "/messages" => Endpoint::Model(Ingress::new(Dialect::Anthropic, Api::ChatCompletions)),
        "/messages/count_tokens" => {
            Endpoint::Model(Ingress::new(Dialect::Anthropic, Api::CountTokens))
        }
        "/images/generations" => openai(Api::ImagesGenerations),
        "/images/edits" => openai(Api::ImagesEdits),
        "/audio/transcriptions" => openai(Api::AudioTranscriptions),
        "/audio/translations" => openai(Api::AudioTranslations),
        "/audio/speech" => openai(Api::AudioSpeech),
        "/moderations" => openai(Api::Moderations),
        // Cohere's v2 path as well as Jina's (and vLLM's) v1.
        "/rerank" => openai(Api::Rerank),
        _ if path == "/v2/rerank" => openai(Api::Rerank),
        "/models" => Endpoint::Models,
        _ if path == "/health" || path == "/healthz" => Endpoint::Health,
        _ => return direct_ingress(p).map(Endpoint::Direct),
    })
}

/// `/files[/{id}[/content]]` and `/batches[/{id}[/cancel]]` (the method
/// is checked by `pipeline::direct`).
fn direct_ingress(p: &str) -> Option<Ingress> {
    let (api, tail) = if let Some(t) = p.strip_prefix("/files") {
        (Api::Files, t)
    } else {
        (Api::Batches, p.strip_prefix("/batches")?)
    };
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    Some(Ingress {
        resource: Some(Resource {
            method: http::Method::GET,
            tail: tail.into(),
            query: None,
        }),
        ..Ingress::new(Dialect::OpenAi, api)
    })
}

pub static X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// The client's `x-request-id` when it is a sensible one (1-128 visible
/// ASCII characters), else a new `sy-` id.
pub fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(&X_REQUEST_ID)
        && !v.is_empty()
        && v.len() <= 128
        && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    {
        return v.clone();
    }
    let mut buf = [0u8; 19];
    buf[..3].copy_from_slice(b"sy-");
    let n = fastrand::u64(..);
    for (i, slot) in buf[3..].iter_mut().enumerate() {
        let nibble = ((n >> (60 - 4 * i)) & 0xf) as u8;
        *slot = if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        };
    }
    HeaderValue::from_bytes(&buf).unwrap_or_else(|_| HeaderValue::from_static("sy-0"))
}
