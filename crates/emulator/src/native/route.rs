//! Routing: which native dialect a URL asks for, with the model and stream
//! mode it names.

use std::borrow::Cow;

use crate::wire;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Anthropic,
    Gemini,
    Bedrock,
}

/// A request for a native dialect, as found in the URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route<'p> {
    pub dialect: Dialect,
    /// The model named in the URL (Gemini, Bedrock), percent-decoded.
    pub model: Option<Cow<'p, str>>,
    /// The URL asks for a stream (`:streamGenerateContent`, `/converse-stream`).
    pub stream: bool,
    /// Gemini `alt=sse` (SSE instead of a streamed JSON array).
    pub sse: bool,
    /// Anthropic `/v1/messages/count_tokens`.
    pub count: bool,
}

/// Recognizes the native dialect paths (see the crate docs); `None` for the
/// OpenAI-compatible API.
pub(crate) fn classify<'p>(path: &'p str, query: Option<&str>) -> Option<Route<'p>> {
    let count = path.ends_with("/v1/messages/count_tokens");
    if count || path.ends_with("/v1/messages") {
        return Some(Route {
            dialect: Dialect::Anthropic,
            model: None,
            stream: false,
            sse: false,
            count,
        });
    }
    if let Some(route) = gemini_route(path, query) {
        return Some(route);
    }
    bedrock_route(path)
}

/// `.../models/{model}:generateContent` or `...:streamGenerateContent`.
fn gemini_route<'p>(path: &'p str, query: Option<&str>) -> Option<Route<'p>> {
    let (before, verb) = path.rsplit_once(':')?;
    let stream = match verb {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    const MARK: &str = "/models/";
    let i = before.rfind(MARK)?;
    let model = &before[i + MARK.len()..];
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let sse = query_param(query, "alt").is_some_and(|v| v == "sse");
    Some(Route {
        dialect: Dialect::Gemini,
        model: Some(wire::percent_decode(model)),
        stream,
        sse,
        count: false,
    })
}

/// `.../model/{modelId}/converse` or `.../model/{modelId}/converse-stream`.
fn bedrock_route(path: &str) -> Option<Route<'_>> {
    let (rest, stream) = if let Some(r) = path.strip_suffix("/converse-stream") {
        (r, true)
    } else {
        (path.strip_suffix("/converse")?, false)
    };
    let (prefix, id) = rest.rsplit_once('/')?;
    if id.is_empty() || !(prefix == "/model" || prefix.ends_with("/model")) {
        return None;
    }
    Some(Route {
        dialect: Dialect::Bedrock,
        model: Some(wire::percent_decode(id)),
        stream,
        sse: false,
        count: false,
    })
}

/// The raw (still encoded) value of `name` in a query string.
pub(crate) fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = classify("/v1/messages", None).unwrap();
        assert_eq!(r.dialect, Dialect::Anthropic);
        assert_eq!(
            classify("/anthropic/v1/messages", None).unwrap().dialect,
            Dialect::Anthropic
        );
        assert!(!r.count);
        let r = classify("/v1/messages/count_tokens", None).unwrap();
        assert!(r.dialect == Dialect::Anthropic && r.count);
        assert!(classify("/v1/messages/batches", None).is_none());

        let r = classify("/v1beta/models/gemini-2.0-flash:generateContent", None).unwrap();
        assert_eq!(r.dialect, Dialect::Gemini);
        assert_eq!(r.model.as_deref(), Some("gemini-2.0-flash"));
        assert!(!r.stream && !r.sse);
        let r = classify(
            "/v1/projects/p/locations/l/publishers/google/models/g%2Dx:streamGenerateContent",
            Some("alt=sse"),
        )
        .unwrap();
        assert_eq!(r.model.as_deref(), Some("g-x"));
        assert!(r.stream && r.sse);
        let r = classify(
            "/v1/publishers/google/models/g:streamGenerateContent",
            Some("key=k"),
        )
        .unwrap();
        assert!(r.stream && !r.sse);
        assert!(classify("/v1beta/models/g:countTokens", None).is_none());
        assert!(classify("/v1beta/models/:generateContent", None).is_none());

        let r = classify(
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
            None,
        )
        .unwrap();
        assert_eq!(r.dialect, Dialect::Bedrock);
        assert_eq!(
            r.model.as_deref(),
            Some("anthropic.claude-3-5-sonnet-20240620-v1:0")
        );
        assert!(!r.stream);
        let r = classify("/bedrock/model/m:0/converse-stream", None).unwrap();
        assert_eq!(r.model.as_deref(), Some("m:0"));
        assert!(r.stream);
        assert!(classify("/model//converse", None).is_none());
        assert!(classify("/models/x/converse", None).is_none());
        assert!(classify("/v1/chat/completions", None).is_none());
    }

    #[test]
    fn queries() {
        assert_eq!(
            query_param(Some("a=1&key=k%2B&alt=sse"), "key"),
            Some("k%2B")
        );
        assert_eq!(query_param(Some("alt"), "alt"), Some(""));
        assert_eq!(query_param(None, "alt"), None);
    }
}
