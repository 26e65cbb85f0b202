//! The request pipeline: one typed context per request, and the phases it
//! goes through, in order (`docs/request-lifecycle.md`):
//!
//! | phase | file | what it does |
//! |---|---|---|
//! | accept | [`endpoint`] | which API and dialect; request id; the record |
//! | identify | [`identify`] | who is calling (consumer keys) |
//! | parse | [`parse`] | body (bounded in size and time), model, stream |
//! | route | [`route`] | the route and its provider |
//! | authorize | [`authorize`] | may this consumer use it |
//! | admit | [`admit`] | limits and budgets (reservations) |
//! | cache | [`cache`] | a stored answer |
//! | count | [`count_tokens`] | token counts no provider of the route offers |
//! | attempts | [`attempts`] | providers, credentials, retries, fallback |
//! | relay | `crate::relay` | the answer, streamed and translated |
//! | finish | [`finish`] | response head; end-of-request work, once |
//!
//! Files and batches have no model: [`direct`] sends them to a provider
//! the request (or the config) names, through the same attempts.
//!
//! A feature is a phase: adding one does not touch the attempt loop.

pub mod admit;
pub mod attempts;
pub mod authorize;
pub mod cache;
pub mod count_tokens;
pub mod direct;
pub mod endpoint;
pub mod finish;
pub mod identify;
pub mod parse;
pub mod route;

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use crate::server::RequestBody;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response};
use switchyard_limits::RateHeaders;
use switchyard_providers::Dialect;

use crate::body::{APPLICATION_JSON, GatewayBody};
use crate::error::GatewayError;
use crate::runtime::consumers::Consumer;
use crate::runtime::{Runtime, Snapshot};
use crate::telemetry::{ObservedBody, RequestRecord};
use crate::upstream::headers::Forwarded;

pub use endpoint::{Endpoint, Ingress, X_REQUEST_ID};
pub use finish::{X_OVERHEAD_MS, error_response};

/// What the phases know of one request.
pub struct RequestCtx {
    pub id: HeaderValue,
    /// The client's dialect: errors are written in it.
    pub dialect: Dialect,
    /// The consumer, once identified (`None`: anonymous).
    pub consumer: Option<Arc<Consumer>>,
    /// Filled along the way, accounted in `finish`.
    pub rec: Box<RequestRecord>,
    /// The client's address (for `rateLimits` counted by `ip`).
    pub peer: Option<IpAddr>,
    /// `x-ratelimit-*` figures for the response (admitted or refused).
    pub rate_headers: Option<RateHeaders>,
    /// The reservation `finish` settles when the answer ends.
    pub admission: Option<admit::Admission>,
    /// Whether the request is accounted (liveness probes are not). The
    /// end of every other request runs `finish`, whether or not metrics
    /// or logs are on.
    accounted: bool,
}

/// Serve one request: the phases in order, then `finish`. The request
/// comes boxed: it is handed down several phases, and each async fn keeps
/// its own copy of an argument for its whole life (304 bytes each time).
pub async fn handle(
    rt: Arc<Runtime>,
    peer: Option<IpAddr>,
    req: Box<Request<RequestBody>>,
) -> Result<Response<ObservedBody>, Infallible> {
    // The configuration in force now; this request finishes on it.
    let snap = rt.snapshot();
    let endpoint = endpoint::endpoint_for(req.uri().path());
    let dialect = match &endpoint {
        Some(Endpoint::Model(i)) => i.dialect,
        // An Anthropic SDK gets Anthropic's list shape (and errors).
        Some(Endpoint::Models | Endpoint::ModelInfo(_))
            if crate::models::wants_anthropic(req.headers()) =>
        {
            Dialect::Anthropic
        }
        _ => Dialect::OpenAi,
    };
    let id = endpoint::request_id(req.headers());
    let mut rec = Box::new(RequestRecord::new(
        id.clone(),
        req.method().clone(),
        req.uri().path(),
        dialect,
    ));
    if let Some(t) = &rt.shared.telemetry.tracer {
        rec.trace = Some(t.begin(req.headers()));
    }
    let mut ctx = RequestCtx {
        id,
        dialect,
        consumer: None,
        rec,
        peer,
        rate_headers: None,
        admission: None,
        accounted: !matches!(endpoint, Some(Endpoint::Health | Endpoint::Root)),
    };
    let result = serve(&rt, &snap, &mut ctx, endpoint, req).await;
    Ok(finish::respond(&rt, ctx, result))
}

async fn serve(
    rt: &Runtime,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
    endpoint: Option<Endpoint>,
    req: Box<Request<RequestBody>>,
) -> Result<Response<GatewayBody>, GatewayError> {
    let method = req.method();
    let Some(endpoint) = endpoint else {
        return Err(GatewayError::UnknownEndpoint {
            method: method.to_string(),
            path: req.uri().path().to_string(),
        });
    };
    let not_allowed = |allowed| GatewayError::MethodNotAllowed {
        method: method.to_string(),
        path: req.uri().path().to_string(),
        allowed,
    };
    match endpoint {
        Endpoint::Health => {
            if method != Method::GET && method != Method::HEAD {
                return Err(not_allowed("GET"));
            }
            Ok(json_response(Bytes::from_static(b"{\"status\":\"ok\"}")))
        }
        Endpoint::Root => {
            // `HEAD /` is Claude Code's warm-up; `GET /` says what this is.
            if method != Method::GET && method != Method::HEAD {
                return Err(not_allowed("GET"));
            }
            Ok(json_response(endpoint::root_body()))
        }
        Endpoint::NotServed(api) => Err(GatewayError::NotServed {
            path: req.uri().path().to_string(),
            api,
        }),
        Endpoint::Models => {
            if method != Method::GET {
                return Err(not_allowed("GET"));
            }
            identify::identify(ctx, &snap.auth, req.headers(), req.uri().query())?;
            // Only what the caller may use.
            let body = crate::models::list_body(
                rt,
                snap,
                ctx.consumer.as_deref(),
                ctx.dialect,
                req.uri().query(),
            )
            .await;
            Ok(json_response(body))
        }
        Endpoint::ModelInfo(id) => {
            if method != Method::GET {
                return Err(not_allowed("GET"));
            }
            identify::identify(ctx, &snap.auth, req.headers(), req.uri().query())?;
            let body =
                crate::models::model_body(rt, snap, ctx.consumer.as_deref(), ctx.dialect, &id)
                    .await?;
            Ok(json_response(body))
        }
        Endpoint::Model(ingress) => {
            if method != Method::POST {
                return Err(not_allowed("POST"));
            }
            model_request(rt, snap, ctx, ingress, req).await
        }
        Endpoint::StoredResponse(id) => {
            identify::identify(ctx, &snap.auth, req.headers(), req.uri().query())?;
            let consumer = ctx.consumer.as_ref().map(|c| c.name.clone());
            crate::responses::stored(&*rt.shared.responses, consumer, method, &id).await
        }
        Endpoint::Direct(ingress) => {
            let tail = ingress.resource.as_ref().map_or("", |r| &*r.tail);
            match direct::methods(ingress.api, tail) {
                None => Err(GatewayError::UnknownEndpoint {
                    method: method.to_string(),
                    path: req.uri().path().to_string(),
                }),
                Some(allowed) if !allowed.contains(method) => Err(not_allowed(match allowed {
                    [Method::GET, Method::POST] => "GET or POST",
                    [Method::GET, Method::DELETE] => "GET or DELETE",
                    [Method::POST] => "POST",
                    _ => "GET",
                })),
                Some(_) => direct::serve(rt, snap, ctx, ingress, req).await,
            }
        }
    }
}

/// A model API call (chat, completions, embeddings, messages, Gemini, and
/// the pass-through APIs routed by model: images, audio, moderations,
/// rerank, token counting).
async fn model_request(
    rt: &Runtime,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
    mut ingress: Box<Ingress>,
    req: Box<Request<RequestBody>>,
) -> Result<Response<GatewayBody>, GatewayError> {
    identify::identify(ctx, &snap.auth, req.headers(), req.uri().query())?;
    // What limits apply is read from the head; the body is not read yet.
    let subjects = admit::subjects(snap, ctx, req.headers(), req.uri().query(), ctx.peer);
    let sse = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
    // Without `alt=sse`, Gemini streams one JSON array, element by element.
    ingress.json_array = ingress.dialect == Dialect::Gemini && ingress.path_stream && !sse;
    ingress.forwarded = Forwarded::capture(
        req.headers(),
        ctx.id.clone(),
        ctx.rec.trace.is_some(),
        ingress.dialect,
    );
    if ingress.api.multipart() {
        // The boundary the body is read by, and sent on with it.
        ingress.forwarded.content_type = req.headers().get(CONTENT_TYPE).cloned();
    }
    let body = parse::read_body(ctx, req, snap.max_body_bytes, snap.body_read_timeout).await?;
    let body = parse::with_default_model(&ingress, body);
    // For token estimates and body logs, shared. A large one is bounded
    // when the record would outlive the request's own hold on it: at once
    // for a stream (its relay can last minutes), else when the answer has
    // ended and says whether its prompt count is needed (`submit`).
    if rt.shared.telemetry.enabled() || subjects.counted() {
        ctx.rec.keep_request_body(&body);
    }
    let mut request = parse::parse(ctx, &ingress, &body)?;
    if request.stream {
        ctx.rec.bound_request_body(true);
    }
    if let Some(r) = &mut request.responses {
        // `previous_response_id`: the earlier turns, when stored here.
        let consumer = ctx.consumer.as_ref().map(|c| c.name.clone());
        r.resolve(&*rt.shared.responses, consumer, &body).await;
    }
    let route = route::route(ctx, snap, &ingress, request.model())?;
    authorize::authorize(ctx, route, request.model())?;
    ctx.admission = admit::admit(&rt.shared.limiter, snap, ctx, subjects, &request).await?;
    if let Some(hit) = cache::lookup(ctx, &request) {
        return Ok(hit);
    }
    if let Some(counted) = count_tokens::local_answer(route, &request) {
        return counted;
    }
    attempts::run(&rt.shared, ctx, route, &request).await
}

fn json_response(body: Bytes) -> Response<GatewayBody> {
    let mut r = Response::new(GatewayBody::full(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    r
}
