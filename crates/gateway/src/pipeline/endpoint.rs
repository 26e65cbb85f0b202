//! Accept: which API a request calls, in which dialect, and its id.

use http::HeaderValue;
use switchyard_providers::{Api, Dialect};

use crate::upstream::headers::Forwarded;

pub enum Endpoint {
    /// Boxed (as `Direct`): handed down the phases by pointer, not copied
    /// into each one's future.
    Model(Box<Ingress>),
    /// Files and batches: no model; a provider named by the request.
    Direct(Box<Ingress>),
    Models,
    /// `GET /v1/models/{id}`: the id, percent-decoded.
    ModelInfo(String),
    Health,
    /// `/`: `HEAD` (Claude Code's warm-up) and `GET` (what this is).
    Root,
    /// A known API this gateway does not serve (501): its name.
    NotServed(&'static str),
    /// `/v1/responses/{id}`: a response the gateway stored.
    StoredResponse(String),
}

/// One endpoint the gateway serves.
pub struct Served {
    pub method: &'static str,
    pub path: &'static str,
    /// The client dialect, for grouping in messages.
    pub dialect: &'static str,
}

const fn served(method: &'static str, path: &'static str, dialect: &'static str) -> Served {
    Served {
        method,
        path,
        dialect,
    }
}

/// Every endpoint served, in every dialect: the one list the 404 and 501
/// messages and `GET /` print. A new endpoint gets a row here as well as
/// its arm in [`endpoint_for`].
pub static SERVED: &[Served] = &[
    served("POST", "/v1/chat/completions", "OpenAI"),
    served("POST", "/v1/completions", "OpenAI"),
    served("POST", "/v1/embeddings", "OpenAI"),
    served("GET", "/v1/models", "OpenAI or Anthropic"),
    served("GET", "/v1/models/{model}", "OpenAI or Anthropic"),
    served("POST", "/v1/responses", "OpenAI Responses"),
    served("GET", "/v1/responses/{id}", "OpenAI Responses"),
    served("DELETE", "/v1/responses/{id}", "OpenAI Responses"),
    served("POST", "/v1/images/generations", "OpenAI"),
    served("POST", "/v1/images/edits", "OpenAI"),
    served("POST", "/v1/audio/transcriptions", "OpenAI"),
    served("POST", "/v1/audio/translations", "OpenAI"),
    served("POST", "/v1/audio/speech", "OpenAI"),
    served("POST", "/v1/moderations", "OpenAI"),
    served("POST", "/v1/rerank", "Cohere/Jina"),
    served("POST", "/v2/rerank", "Cohere/Jina"),
    served("GET|POST", "/v1/files", "OpenAI"),
    served("GET|DELETE", "/v1/files/{id}", "OpenAI"),
    served("GET", "/v1/files/{id}/content", "OpenAI"),
    served("GET|POST", "/v1/batches", "OpenAI"),
    served("GET", "/v1/batches/{id}", "OpenAI"),
    served("POST", "/v1/batches/{id}/cancel", "OpenAI"),
    served("POST", "/v1/messages", "Anthropic"),
    served("POST", "/v1/messages/count_tokens", "Anthropic"),
    served("POST", "/v1beta/models/{model}:generateContent", "Gemini"),
    served(
        "POST",
        "/v1beta/models/{model}:streamGenerateContent[?alt=sse]",
        "Gemini",
    ),
    served("GET", "/health", "gateway"),
];

/// APIs clients know that this gateway does not serve: a request under
/// one of these paths (after the optional `/v1`) is a 501
/// `unsupported_api`, not a 404.
pub static NOT_SERVED: &[(&str, &str)] = &[
    (
        "/realtime",
        "the OpenAI Realtime API (WebSocket and WebRTC sessions)",
    ),
    ("/assistants", "the OpenAI Assistants API"),
    ("/threads", "the OpenAI Assistants API (threads and runs)"),
    ("/vector_stores", "OpenAI vector stores"),
    ("/fine_tuning", "OpenAI fine-tuning"),
    ("/fine-tunes", "OpenAI fine-tuning (legacy)"),
    ("/evals", "OpenAI evals"),
    ("/uploads", "OpenAI uploads"),
    ("/containers", "OpenAI containers"),
    ("/conversations", "the OpenAI Conversations API"),
    ("/chatkit", "OpenAI ChatKit"),
    ("/organization", "the OpenAI administration API"),
    ("/videos", "OpenAI video generation"),
    ("/messages/batches", "Anthropic message batches"),
    ("/skills", "Anthropic skills"),
];

/// Gemini model methods not served (`models/{model}:{method}`).
static GEMINI_NOT_SERVED: &[(&str, &str)] = &[
    ("countTokens", "Gemini token counting (`:countTokens`)"),
    ("embedContent", "Gemini embeddings (`:embedContent`)"),
    (
        "batchEmbedContents",
        "Gemini embeddings (`:batchEmbedContents`)",
    ),
    ("predict", "Vertex AI `:predict`"),
];

/// The served endpoints as one sentence, grouped by dialect.
pub fn served_sentence() -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for s in SERVED {
        let line = format!("{} {}", s.method, s.path);
        match groups.iter_mut().find(|(d, _)| *d == s.dialect) {
            Some((_, v)) => v.push(line),
            None => groups.push((s.dialect, vec![line])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(d, v)| format!("{} ({d})", v.join(", ")))
        .collect();
    format!(
        "This gateway serves {}. The /v1 prefix is optional on OpenAI paths.",
        parts.join("; ")
    )
}

/// What `GET /` says.
pub fn root_body() -> bytes::Bytes {
    let endpoints: Vec<String> = SERVED
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    let body = serde_json::json!({
        "service": "switchyard",
        "description": "AI gateway: OpenAI, Anthropic and Gemini clients in front of many providers",
        "version": env!("CARGO_PKG_VERSION"),
        "endpoints": endpoints,
    });
    bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// Where a request came in: its dialect and API, and for Gemini the model
/// and stream flag its URL carries.
#[derive(Clone, Debug)]
pub struct Ingress {
    pub dialect: Dialect,
    pub api: Api,
    pub path_model: Option<String>,
    pub path_stream: bool,
    /// Gemini `:streamGenerateContent` without `alt=sse`: the answer is
    /// one JSON array, written element by element.
    pub json_array: bool,
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
            json_array: false,
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
        return Some(Endpoint::Model(Box::new(i)));
    }
    let p = path.strip_prefix("/v1").unwrap_or(path);
    let openai = |api| Endpoint::Model(Box::new(Ingress::new(Dialect::OpenAi, api)));
    Some(match p {
        "/chat/completions" => Endpoint::Model(Box::new(Ingress::new(
            Dialect::OpenAi,
            Api::ChatCompletions,
        ))),
        "/completions" => {
            Endpoint::Model(Box::new(Ingress::new(Dialect::OpenAi, Api::Completions)))
        }
        "/embeddings" => Endpoint::Model(Box::new(Ingress::new(Dialect::OpenAi, Api::Embeddings))),
        "/messages" => Endpoint::Model(Box::new(Ingress::new(
            Dialect::Anthropic,
            Api::ChatCompletions,
        ))),
        "/responses" => Endpoint::Model(Box::new(Ingress::new(Dialect::Responses, Api::Responses))),
        _ if p.starts_with("/responses/") => match percent_decode(&p["/responses/".len()..]) {
            Some(id) if !id.is_empty() && !id.contains('/') => Endpoint::StoredResponse(id),
            _ => return None,
        },
        "/messages/count_tokens" => {
            Endpoint::Model(Box::new(Ingress::new(Dialect::Anthropic, Api::CountTokens)))
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
        "/models" | "/models/" => Endpoint::Models,
        _ if path == "/health" || path == "/healthz" => Endpoint::Health,
        _ if path == "/" => Endpoint::Root,
        _ => {
            if let Some(ingress) = direct_ingress(p) {
                return Some(Endpoint::Direct(Box::new(ingress)));
            }
            if let Some(name) = not_served(path, p) {
                return Some(Endpoint::NotServed(name));
            }
            // Ids may hold `/` (`meta-llama/...`) and `:` (Bedrock's `...-v1:0`).
            let id = p.strip_prefix("/models/").filter(|id| !id.is_empty())?;
            return percent_decode(id).map(Endpoint::ModelInfo);
        }
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

/// The name of the known API at `path` (`p`: without `/v1`), if it is one
/// this gateway does not serve.
fn not_served(path: &str, p: &str) -> Option<&'static str> {
    if let Some((_, method)) = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))
        .and_then(|rest| rest.rsplit_once(':'))
    {
        return GEMINI_NOT_SERVED
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, name)| *name);
    }
    NOT_SERVED
        .iter()
        .find(|(prefix, _)| {
            p.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .map(|(_, name)| *name)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(path: &str) -> &'static str {
        match endpoint_for(path) {
            None => "none",
            Some(Endpoint::Model(i)) => match i.dialect {
                Dialect::Gemini => "gemini",
                Dialect::Anthropic => "messages",
                _ => i.api.name(),
            },
            Some(Endpoint::Models) => "models",
            Some(Endpoint::ModelInfo(_)) => "model",
            Some(Endpoint::Health) => "health",
            Some(Endpoint::Root) => "root",
            Some(Endpoint::NotServed(_)) => "501",
            Some(Endpoint::StoredResponse(_)) => "stored response",
            Some(Endpoint::Direct(i)) => i.api.name(),
        }
    }

    #[test]
    fn paths() {
        for (path, want) in [
            ("/v1/chat/completions", "chat.completions"),
            ("/chat/completions", "chat.completions"),
            ("/v1/messages", "messages"),
            ("/v1/models", "models"),
            ("/models", "models"),
            ("/v1/models/gpt-4o", "model"),
            ("/v1/responses", "responses"),
            ("/v1/responses/resp_abc", "stored response"),
            ("/v1/models/meta-llama/Llama-3-8b", "model"),
            ("/models/anthropic.claude-3-5-haiku-20241022-v1:0", "model"),
            ("/v1beta/models/gemini-2.5-flash:generateContent", "gemini"),
            (
                "/v1/models/gemini-2.5-flash:streamGenerateContent",
                "gemini",
            ),
            ("/v1beta/models/gemini-2.5-flash:countTokens", "501"),
            ("/v1/realtime", "501"),
            ("/v1/realtime/sessions", "501"),
            ("/v1/assistants/asst_1", "501"),
            ("/threads", "501"),
            ("/v1/fine_tuning/jobs", "501"),
            ("/v1/messages/batches", "501"),
            ("/v1/realtimex", "none"),
            ("/v2/whatever", "none"),
            ("/", "root"),
            ("/health", "health"),
        ] {
            assert_eq!(name(path), want, "{path}");
        }
        match endpoint_for("/v1/models/a%2Fb") {
            Some(Endpoint::ModelInfo(id)) => assert_eq!(id, "a/b"),
            _ => panic!("a model id"),
        }
    }

    #[test]
    fn the_sentence_names_every_served_endpoint() {
        let s = served_sentence();
        for e in SERVED {
            assert!(s.contains(e.path), "{s}");
        }
        assert!(s.contains("(Anthropic)") && s.contains("(Gemini)"), "{s}");
    }
}
