//! Parse: read the body (bounded in size and time) and learn the model,
//! the stream flag and what the client asked of usage. The body is kept as
//! sent; a provider of the same dialect gets it spliced, never
//! re-serialised, and another dialect gets it translated once.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::server::RequestBody;
use bytes::Bytes;
use http::Request;
use http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;
use switchyard_protocol::canonical::{ChatRequest, ConvertError};
use switchyard_protocol::multipart;
use switchyard_protocol::{RequestError, RequestView, Rewrite};
use switchyard_providers::Dialect;
use tokio::time::Instant;

use super::RequestCtx;
use super::endpoint::Ingress;
use crate::error::GatewayError;
use crate::responses::ResponsesReq;
use crate::responses::store::ResponseStore;
use crate::translate;
use crate::upstream::Upstream;

/// Read the whole request body, refusing more than `limit` bytes (early,
/// from `content-length`, when the client sends one) and a client that
/// takes longer than `within` to send it.
///
/// A body that arrives in one piece is kept as that piece (no copy); a
/// longer one is gathered into one buffer that grows toward its
/// `content-length`, each piece dropped once copied, so a large body is
/// held about once, not as its pieces plus their concatenation.
pub async fn read_body(
    ctx: &mut RequestCtx,
    req: Box<Request<RequestBody>>,
    limit: usize,
    within: Duration,
) -> Result<Bytes, GatewayError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(GatewayError::BodyTooLarge { limit });
    }
    let capacity = declared.map_or(0, |len| len as usize);
    let mut gather = std::pin::pin!(gather((*req).into_body(), limit, capacity));
    // A small body usually came with the head: take it without arming a
    // timer or reading the clock (its read took no time); only a body
    // still on its way is timed and given `bodyReadTimeout`.
    let ready = std::future::poll_fn(|cx| std::task::Poll::Ready(gather.as_mut().poll(cx))).await;
    match ready {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => {
            let reading = Instant::now();
            let read = tokio::time::timeout(within, gather).await;
            ctx.rec.body_read = reading.elapsed();
            read.unwrap_or(Err(GatewayError::BodyReadTimeout { after: within }))
        }
    }
}

/// The body's pieces as one `Bytes`, at most `limit` bytes; `capacity`:
/// the declared length (0 when unknown).
async fn gather(
    mut body: RequestBody,
    limit: usize,
    capacity: usize,
) -> Result<Bytes, GatewayError> {
    // Read with the head (the common case): no gathering, no copy.
    if let Some(whole) = body.ready() {
        return if whole.len() > limit {
            Err(GatewayError::BodyTooLarge { limit })
        } else {
            Ok(whole)
        };
    }
    let mut first: Option<Bytes> = None;
    let mut joined: Option<bytes::BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| GatewayError::BodyRead(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        total += data.len();
        if total > limit {
            return Err(GatewayError::BodyTooLarge { limit });
        }
        // Room grows toward the declared length, but never past four
        // times what has arrived: a declared length costs the client
        // nothing to send.
        let room = |arrived: usize| capacity.clamp(arrived, arrived.saturating_mul(4));
        match (&mut joined, first.take()) {
            (Some(buf), _) => {
                if buf.capacity() < total {
                    buf.reserve(room(total) - buf.len());
                }
                buf.extend_from_slice(&data);
            }
            (None, None) => first = Some(data),
            (None, Some(head)) => {
                let mut buf = bytes::BytesMut::with_capacity(room(total));
                buf.extend_from_slice(&head);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
    }
    Ok(match joined {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// A request body and what the gateway knows of it.
pub struct Parsed<'b> {
    pub ingress: &'b Ingress,
    pub body: &'b Bytes,
    /// A borrowed view for splicing (OpenAI and Anthropic bodies).
    view: Option<RequestView<'b>>,
    /// The canonical request, decoded once, only if some provider needs it.
    canonical: OnceLock<Result<ChatRequest, ConvertError>>,
    /// An upload's model (a form field).
    form: Option<FormModel>,
    pub stream: bool,
    /// The client asked for OpenAI's usage chunk itself.
    pub include_usage: bool,
    pub start: Instant,
    /// A Responses request: its id, decoded form and earlier turns.
    pub responses: Option<ResponsesReq>,
}

/// The model of a `multipart/form-data` upload.
struct FormModel {
    model: String,
    boundary: String,
    /// Where its value is in the body; `None`: the form has no `model`
    /// and the API's default is used.
    span: Option<std::ops::Range<usize>>,
}

/// The form's `model` (or the API's default), read in place.
fn read_form(ingress: &Ingress, body: &[u8]) -> Result<FormModel, GatewayError> {
    let boundary = ingress
        .forwarded
        .content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(multipart::boundary)
        .ok_or(GatewayError::Form(multipart::FormError::NotMultipart))?
        .to_string();
    let span = multipart::find_field(body, &boundary, "model").map_err(GatewayError::Form)?;
    let model = match &span {
        Some(r) => std::str::from_utf8(&body[r.clone()])
            .ok()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .ok_or(RequestError::MissingModel)?
            .to_string(),
        None => ingress
            .api
            .default_model()
            .ok_or(RequestError::MissingModel)?
            .to_string(),
    };
    Ok(FormModel {
        model,
        boundary,
        span,
    })
}

/// A JSON body of an API with a default model (moderations, images) that
/// names none gets the default, so it is routed (and mapped) as the
/// provider would treat it. Other bodies are returned as they are.
pub fn with_default_model(ingress: &Ingress, body: Bytes) -> Bytes {
    let Some(default) = ingress.api.default_model() else {
        return body;
    };
    if ingress.api.multipart()
        || !matches!(RequestView::parse(&body), Err(RequestError::MissingModel))
    {
        return body;
    }
    let Some(brace) = body.iter().position(|b| *b == b'{') else {
        return body;
    };
    let empty = body[brace + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}');
    let field = format!("\"model\":\"{default}\"{}", if empty { "" } else { "," });
    let mut out = Vec::with_capacity(body.len() + field.len());
    out.extend_from_slice(&body[..=brace]);
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(&body[brace + 1..]);
    Bytes::from(out)
}

/// Parse `body`, sent to `ingress`.
pub fn parse<'b>(
    ctx: &mut RequestCtx,
    ingress: &'b Ingress,
    body: &'b Bytes,
) -> Result<Parsed<'b>, GatewayError> {
    let parsed = match &ingress.path_model {
        Some(m) => {
            // Gemini: check the body now, so a bad one is a clean 400.
            let canonical =
                translate::decode_request(ingress.dialect, body, m, ingress.path_stream)
                    .map_err(GatewayError::Translation)?;
            Parsed {
                ingress,
                body,
                view: None,
                canonical: OnceLock::from(Ok(canonical)),
                form: None,
                stream: ingress.path_stream,
                include_usage: false,
                start: Instant::now(),
                responses: None,
            }
        }
        // Files and batches: no model; the body goes as it is.
        None if ingress.resource.is_some() => Parsed {
            ingress,
            body,
            view: None,
            canonical: OnceLock::new(),
            form: None,
            stream: false,
            include_usage: false,
            start: Instant::now(),
            responses: None,
        },
        None if ingress.api.multipart() => Parsed {
            ingress,
            body,
            view: None,
            canonical: OnceLock::new(),
            form: Some(read_form(ingress, body)?),
            stream: false,
            include_usage: false,
            start: Instant::now(),
            responses: None,
        },
        None => {
            let view = RequestView::parse(body)?;
            Parsed {
                ingress,
                body,
                // Pass-through APIs are relayed as they come, streamed
                // or not (no usage rewrite, no stream translation).
                stream: view.stream && !ingress.api.passthrough(),
                include_usage: view.include_usage,
                view: Some(view),
                canonical: OnceLock::new(),
                form: None,
                start: Instant::now(),
                responses: (ingress.dialect == Dialect::Responses).then(ResponsesReq::new),
            }
        }
    };
    ctx.rec.api = Some(ingress.api);
    let model = parsed.model();
    if !model.is_empty() {
        ctx.rec.requested_model = Some(model.into());
    }
    ctx.rec.stream = parsed.stream;
    Ok(parsed)
}

impl Parsed<'_> {
    /// The model the client asked for.
    pub fn model(&self) -> &str {
        match (&self.ingress.path_model, &self.view, &self.form) {
            (Some(m), _, _) => m,
            (None, Some(v), _) => &v.model,
            (None, None, Some(f)) => &f.model,
            (None, None, None) => "",
        }
    }

    pub fn canonical(&self) -> Result<&ChatRequest, ConvertError> {
        self.canonical
            .get_or_init(|| match &self.responses {
                Some(r) => r.canonical(self.body),
                None => translate::decode_request(
                    self.ingress.dialect,
                    self.body,
                    self.model(),
                    self.ingress.path_stream,
                ),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// What a bridged answer to a Responses request needs (`None` for
    /// other requests).
    pub fn responses_fill(
        &self,
        store: &Arc<dyn ResponseStore>,
    ) -> Option<Arc<crate::responses::ResponsesFill>> {
        self.responses.as_ref()?.fill(self.body, store)
    }

    /// The body a provider speaking `target` gets, asking for `model`.
    pub fn body_for(&self, up: &Upstream, model: &str) -> Result<Bytes, ConvertError> {
        if let Some(f) = &self.form {
            // An upload: spliced only when the model changes.
            return Ok(match &f.span {
                _ if model == f.model && f.span.is_some() => self.body.clone(),
                Some(r) => Bytes::from(multipart::splice(self.body, r.clone(), model.as_bytes())),
                None => Bytes::from(multipart::prepend_field(
                    self.body,
                    &f.boundary,
                    "model",
                    model,
                )),
            });
        }
        if self.ingress.resource.is_some() {
            return Ok(self.body.clone());
        }
        let client = self.ingress.dialect;
        let target = up.dialect_for(client);
        if target == client && up.original {
            // `protocol: original`: the client's bytes, untouched.
            return Ok(self.body.clone());
        }
        if target == client {
            if let Some(view) = &self.view {
                // Same dialect: splice, never re-serialise.
                let rewrite = Rewrite {
                    model: Some(model),
                    include_usage: target == Dialect::OpenAi && self.stream && !self.include_usage,
                };
                return Ok(match rewrite.apply(self.body, view) {
                    Some(v) => Bytes::from(v),
                    None => self.body.clone(),
                });
            }
            // Gemini: the model is in the URL; the body is unchanged.
            return Ok(self.body.clone());
        }
        let mut req = self.canonical()?.clone();
        req.model = model.to_string();
        req.stream = self.stream;
        translate::encode_request(target, &req).map(Bytes::from)
    }
}
