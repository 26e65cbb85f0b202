//! The hyper server: accept loop, routing, behaviours and the control API.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::body::EmuBody;
use crate::record::Record;
use crate::wire::{self, Answer, ApiRequest, Meta};
use crate::{Behaviour, Emulator, Inner};
use crate::{media, native};

pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
pub(crate) const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub(crate) const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");

static RATE_LIMITED: &[u8] = b"{\"error\":{\"message\":\"Rate limit reached for requests (emulated). Please try again in 1s.\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
static UNAVAILABLE: &[u8] = b"{\"error\":{\"message\":\"The server is overloaded or not ready yet (emulated).\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
static NO_KEY: &[u8] = b"{\"error\":{\"message\":\"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}";
static MISSING_MODEL: &[u8] = b"{\"error\":{\"message\":\"you must provide a model parameter\",\"type\":\"invalid_request_error\",\"param\":\"model\",\"code\":null}}";
static MISSING_API_VERSION: &[u8] = b"{\"error\":{\"message\":\"Missing required query parameter 'api-version'.\",\"type\":\"invalid_request_error\",\"param\":\"api-version\",\"code\":\"missing_api_version\"}}";

pub(crate) async fn serve(inner: Arc<Inner>, listener: TcpListener) -> io::Result<()> {
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    // Dropping the set (when this future is dropped) aborts every connection.
    let mut conns = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Usually transient (EMFILE, ECONNABORTED): back off briefly.
                tracing::debug!(error = %e, "emulator accept failed");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let inner = inner.clone();
        let builder = builder.clone();
        conns.spawn(async move {
            let svc = service_fn(move |req| {
                let inner = inner.clone();
                async move { Ok::<_, Infallible>(handle(inner, req).await) }
            });
            if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
                tracing::debug!(error = %e, "emulator connection ended with an error");
            }
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Completions,
    Embeddings,
    Models,
    Responses,
    Unknown,
}

fn classify(path: &str) -> Endpoint {
    if path.ends_with("/chat/completions") {
        Endpoint::Chat
    } else if path.ends_with("/completions") {
        Endpoint::Completions
    } else if path.ends_with("/embeddings") {
        Endpoint::Embeddings
    } else if path.ends_with("/models") {
        Endpoint::Models
    } else if path.ends_with("/responses") {
        Endpoint::Responses
    } else {
        Endpoint::Unknown
    }
}

/// `{d}` in `.../deployments/{d}/...`.
fn azure_deployment(path: &str) -> Option<&str> {
    const MARK: &str = "/deployments/";
    let i = path.find(MARK)?;
    let seg = path[i + MARK.len()..].split('/').next()?;
    (!seg.is_empty()).then_some(seg)
}

fn has_api_version(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|kv| {
            kv.strip_prefix("api-version=")
                .is_some_and(|v| !v.is_empty())
        })
    })
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: HeaderValue,
    body: EmuBody,
) -> Response<EmuBody> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, content_type);
    r
}

pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<EmuBody> {
    respond(status, APPLICATION_JSON, EmuBody::full(body))
}

fn text(status: StatusCode, body: &'static str) -> Response<EmuBody> {
    respond(
        status,
        TEXT_PLAIN,
        EmuBody::full(Bytes::from_static(body.as_bytes())),
    )
}

pub(crate) fn error(status: StatusCode, message: &str, code: Option<&str>) -> Response<EmuBody> {
    json(
        status,
        wire::error_body(message, "invalid_request_error", None, code),
    )
}

async fn handle(inner: Arc<Inner>, req: Request<Incoming>) -> Response<EmuBody> {
    if req.uri().path().starts_with("/_mock/") {
        return control(inner, req).await;
    }
    let (parts, body) = req.into_parts();
    let route = native::classify(parts.uri.path(), parts.uri.query());
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::debug!(error = %e, "emulator failed to read a request body");
            return error(StatusCode::BAD_REQUEST, "could not read the body", None);
        }
    };
    let id = wire::next_id();
    if let Some(api) = media::classify(parts.uri.path()) {
        let mut resp = media::handle(&inner, &parts, &bytes, api, &id).await;
        set_request_id(&mut resp, &id);
        return resp;
    }
    if let Some(route) = route {
        let mut resp = native::handle(&inner, &parts, &bytes, &route, &id).await;
        set_request_id(&mut resp, &id);
        return resp;
    }
    let path = parts.uri.path();
    let endpoint = classify(path);
    let parsed: Result<ApiRequest<'_>, serde_json::Error> = if bytes.is_empty() {
        Ok(ApiRequest::default())
    } else if endpoint == Endpoint::Responses {
        crate::responses::head(&bytes)
    } else {
        serde_json::from_slice(&bytes)
    };
    let deployment = azure_deployment(path);
    let body_model = parsed
        .as_ref()
        .ok()
        .and_then(|r| r.model.as_ref())
        .map(|m| &*m.0);
    let model = body_model.or(deployment);
    let stream = parsed.as_ref().is_ok_and(ApiRequest::is_stream);
    let headers = &parts.headers;
    let credential = wire::find_credential(|n| header_str(headers, n));
    let token = credential.map_or("", |(t, _)| t);
    inner.record(Record::new(
        &parts.method,
        &parts.uri,
        headers,
        model,
        stream,
        credential,
    ));

    if !inner.cfg.latency.is_zero() {
        tokio::time::sleep(inner.cfg.latency).await;
    }

    let mut resp = api(
        &inner,
        &parts.method,
        &parts.uri,
        endpoint,
        model,
        &parsed,
        &bytes,
        token,
        &id,
    )
    .await;
    set_request_id(&mut resp, &id);
    resp
}

/// `x-request-id: req_<id>` on every non-control response.
fn set_request_id(resp: &mut Response<EmuBody>, id: &[u8; 16]) {
    let mut rid = [0u8; 20];
    rid[..4].copy_from_slice(b"req_");
    rid[4..].copy_from_slice(id);
    if let Ok(v) = HeaderValue::from_bytes(&rid) {
        resp.headers_mut().insert(X_REQUEST_ID, v);
    }
}

/// A header value as UTF-8 (`None` when absent or not UTF-8).
pub(crate) fn header_str<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
}

#[allow(clippy::too_many_arguments)]
async fn api(
    inner: &Inner,
    method: &Method,
    uri: &http::Uri,
    endpoint: Endpoint,
    model: Option<&str>,
    parsed: &Result<ApiRequest<'_>, serde_json::Error>,
    body: &[u8],
    token: &str,
    id: &[u8; 16],
) -> Response<EmuBody> {
    let path = uri.path();
    let wanted = match endpoint {
        Endpoint::Unknown => {
            let msg = format!("Invalid URL ({method} {path})");
            return error(StatusCode::NOT_FOUND, &msg, Some("unknown_url"));
        }
        Endpoint::Models => (Method::GET, "GET"),
        _ => (Method::POST, "POST"),
    };
    let (wanted, allow) = wanted;
    if *method != wanted {
        let msg = format!("Method {method} not allowed for {path}; use {wanted}.");
        let mut r = error(
            StatusCode::METHOD_NOT_ALLOWED,
            &msg,
            Some("method_not_allowed"),
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        return r;
    }
    if azure_deployment(path).is_some() && !has_api_version(uri.query()) {
        return json(
            StatusCode::BAD_REQUEST,
            Bytes::from_static(MISSING_API_VERSION),
        );
    }

    let (cut, usage) = match gate(inner, token).await {
        Ok(g) => g,
        Err(r) => return r,
    };

    let finish = |body: Bytes| {
        if cut {
            respond(StatusCode::OK, APPLICATION_JSON, EmuBody::cut(body))
        } else {
            json(StatusCode::OK, body)
        }
    };

    if endpoint == Endpoint::Models {
        return finish(inner.models_body.clone());
    }
    let req = match parsed {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("We could not parse the JSON body of your request: {e}");
            return error(StatusCode::BAD_REQUEST, &msg, Some("invalid_json"));
        }
    };
    let Some(model) = model else {
        return json(StatusCode::BAD_REQUEST, Bytes::from_static(MISSING_MODEL));
    };

    let chunks = inner.cfg.stream_chunks.max(1);
    let (stream, include_usage) = (req.is_stream(), req.include_usage());
    let sse = |s: wire::Sse| {
        let mut r = respond(
            StatusCode::OK,
            EVENT_STREAM,
            EmuBody::events(s.data, s.ends, inner.cfg.chunk_delay, cut.then_some(2)),
        );
        r.headers_mut().insert(CACHE_CONTROL, NO_CACHE);
        r
    };
    match endpoint {
        Endpoint::Chat => {
            let messages = req.messages.as_deref().unwrap_or(&[]);
            let (answer, call) = wire::chat_reply(req);
            let meta = Meta {
                id,
                created: wire::unix_now(),
                model,
                prompt_tokens: wire::chat_prompt_tokens(messages),
                usage,
            };
            if stream {
                sse(wire::chat_stream(
                    &meta,
                    &answer,
                    call.as_ref(),
                    chunks,
                    include_usage,
                ))
            } else {
                finish(wire::chat_completion(&meta, &answer, call.as_ref()))
            }
        }
        Endpoint::Completions => {
            let items = req.prompt.as_ref().map_or(&[][..], |p| &p.0[..]);
            let answer = Answer::new(wire::list_echo(items), req.max_tokens());
            let meta = Meta {
                id,
                created: wire::unix_now(),
                model,
                prompt_tokens: wire::list_tokens(items),
                usage,
            };
            if stream {
                sse(wire::text_stream(&meta, &answer, chunks, include_usage))
            } else {
                finish(wire::text_completion(&meta, &answer))
            }
        }
        Endpoint::Embeddings => {
            let items = req.input.as_ref().map_or(&[][..], |p| &p.0[..]);
            finish(wire::embeddings(model, items, usage))
        }
        Endpoint::Responses => match crate::responses::Reply::new(body, model, usage) {
            Err(msg) => error(StatusCode::BAD_REQUEST, &msg, Some("invalid_value")),
            Ok(r) if stream => sse(r.stream(chunks)),
            Ok(r) => finish(r.body()),
        },
        Endpoint::Models | Endpoint::Unknown => finish(inner.models_body.clone()),
    }
}

/// What the credential's behaviour asks of an OpenAI-style answer: an
/// error response now, or go on (`(cut, usage)`) after any delay.
pub(crate) async fn gate(inner: &Inner, token: &str) -> Result<(bool, bool), Response<EmuBody>> {
    let (mut cut, mut usage) = (false, true);
    match inner.behaviour(token) {
        Behaviour::Ok => {}
        Behaviour::NoUsage => usage = false,
        Behaviour::Unauthorized => {
            if token.is_empty() {
                return Err(json(StatusCode::UNAUTHORIZED, Bytes::from_static(NO_KEY)));
            }
            let msg = format!(
                "Incorrect API key provided: {}. You can find your API key in your provider dashboard.",
                crate::mask_token(token)
            );
            return Err(json(
                StatusCode::UNAUTHORIZED,
                wire::error_body(&msg, "invalid_request_error", None, Some("invalid_api_key")),
            ));
        }
        Behaviour::RateLimited => {
            let mut r = json(
                StatusCode::TOO_MANY_REQUESTS,
                Bytes::from_static(RATE_LIMITED),
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(r);
        }
        Behaviour::Unavailable => {
            return Err(json(
                StatusCode::SERVICE_UNAVAILABLE,
                Bytes::from_static(UNAVAILABLE),
            ));
        }
        Behaviour::Slow(d) => tokio::time::sleep(d).await,
        Behaviour::Hang => {
            // Held until the client goes away (hyper then drops this future).
            std::future::pending::<()>().await;
        }
        Behaviour::Cut => cut = true,
    }
    Ok((cut, usage))
}

fn parse_behaviour(body: &[u8]) -> Option<Behaviour> {
    if let Ok(b) = serde_json::from_slice::<Behaviour>(body) {
        return Some(b);
    }
    // Also accept a bare variant name: `Hang` instead of `"Hang"`.
    let bare = std::str::from_utf8(body).ok()?.trim();
    serde_json::from_value(serde_json::Value::String(bare.to_owned())).ok()
}

async fn control(inner: Arc<Inner>, req: Request<Incoming>) -> Response<EmuBody> {
    let emu = Emulator { inner };
    let (parts, body) = req.into_parts();
    let rest = parts.uri.path().strip_prefix("/_mock/").unwrap_or("");
    let method = parts.method;
    match (rest, &method) {
        ("health", &Method::GET) => text(StatusCode::OK, "ok"),
        ("requests", &Method::GET) => match serde_json::to_vec(&emu.requests()) {
            Ok(v) => json(StatusCode::OK, Bytes::from(v)),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
        },
        ("requests", &Method::DELETE) => {
            emu.clear_requests();
            text(StatusCode::OK, "ok")
        }
        (r, m) if r.starts_with("tokens/") && (*m == Method::PUT || *m == Method::DELETE) => {
            let token = wire::percent_decode(&r["tokens/".len()..]).into_owned();
            if method == Method::DELETE {
                emu.set_behaviour(&token, None);
                return text(StatusCode::OK, "ok");
            }
            let bytes = match body.collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string(), None),
            };
            match parse_behaviour(&bytes) {
                Some(b) => {
                    emu.set_behaviour(&token, Some(b));
                    text(StatusCode::OK, "ok")
                }
                None => error(
                    StatusCode::BAD_REQUEST,
                    "body must be a Behaviour: \"Ok\", \"Unauthorized\", \"RateLimited\", \"Unavailable\", {\"Slow\":{\"secs\":1,\"nanos\":0}}, \"Hang\", \"Cut\" or \"NoUsage\"",
                    None,
                ),
            }
        }
        ("health" | "requests", _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
            Some("method_not_allowed"),
        ),
        _ => {
            let msg = format!("Unknown control path {}", parts.uri.path());
            error(StatusCode::NOT_FOUND, &msg, Some("unknown_url"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing() {
        assert!(classify("/v1/chat/completions") == Endpoint::Chat);
        assert!(classify("/chat/completions") == Endpoint::Chat);
        assert!(classify("/v1/completions") == Endpoint::Completions);
        assert!(classify("/api/paas/v4/embeddings") == Endpoint::Embeddings);
        assert!(classify("/v1/models") == Endpoint::Models);
        assert!(classify("/v1/foo") == Endpoint::Unknown);
        assert_eq!(
            azure_deployment("/openai/deployments/gpt4/chat/completions"),
            Some("gpt4")
        );
        assert_eq!(azure_deployment("/v1/chat/completions"), None);
        assert!(has_api_version(Some("a=1&api-version=2024-10-21")));
        assert!(!has_api_version(Some("api-version=")));
        assert!(!has_api_version(None));
    }

    #[test]
    fn decoding() {
        assert_eq!(wire::percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(wire::percent_decode("100%"), "100%");
        assert_eq!(wire::percent_decode("%4"), "%4");
        assert_eq!(wire::percent_decode("a%3A0"), "a:0");
        assert_eq!(parse_behaviour(b"\"Hang\""), Some(Behaviour::Hang));
        assert_eq!(parse_behaviour(b" Cut\n"), Some(Behaviour::Cut));
        assert_eq!(parse_behaviour(b"\"NoUsage\""), Some(Behaviour::NoUsage));
        assert_eq!(parse_behaviour(b"NoUsage"), Some(Behaviour::NoUsage));
        assert_eq!(
            parse_behaviour(br#"{"Slow":{"secs":1,"nanos":0}}"#),
            Some(Behaviour::Slow(Duration::from_secs(1)))
        );
        assert_eq!(parse_behaviour(b"nope"), None);
    }
}

#[cfg(test)]
mod hang_tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use crate::{Emulator, MockConfig};

    /// A `hang-` request holds its handler until the client goes away.
    #[tokio::test]
    async fn hang_is_released_when_the_client_leaves() {
        let emu = Emulator::new(MockConfig::default());
        let running = emu
            .clone()
            .start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let base = std::sync::Arc::strong_count(&emu.inner);
        let mut s = tokio::net::TcpStream::connect(running.addr).await.unwrap();
        s.write_all(b"GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer hang-x\r\n\r\n")
            .await
            .unwrap();
        let mut held = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if std::sync::Arc::strong_count(&emu.inner) > base {
                held = true;
                break;
            }
        }
        assert!(held, "the hanging handler should be in flight");
        drop(s);
        let mut released = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if std::sync::Arc::strong_count(&emu.inner) == base {
                released = true;
                break;
            }
        }
        assert!(released, "the hanging handler should be dropped");
    }
}
