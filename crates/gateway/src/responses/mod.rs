//! The Responses API at the gateway (`docs/responses.md`): what a
//! `POST /v1/responses` needs beyond the other model APIs.
//!
//! - Native providers (the Responses API of their own: openai, azure,
//!   `responsesApi: true`) get the client's body as it is, model spliced in;
//!   `previous_response_id` goes with it untouched.
//! - Every other provider is bridged through the canonical model: the
//!   request decoded by `protocol::responses`, the answer and stream
//!   encoded back; built-in tools the provider cannot run are left out and
//!   named in `x-switchyard-dropped-tools`.
//! - Bridged answers are kept in a [`store::ResponseStore`] (unless the
//!   client sent `store: false`), so that `previous_response_id` can send
//!   the earlier turns upstream, and `GET` / `DELETE /v1/responses/{id}`
//!   work for them.

pub mod store;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use switchyard_protocol::canonical::{
    ChatRequest, ChatResponse, ConvertError, Message, StreamEvent,
};
use switchyard_protocol::dialect::StreamEncode;
use switchyard_protocol::responses::{self, Decoded, Echo};

use crate::body::GatewayBody;
use crate::error::GatewayError;
use store::{ResponseStore, StoredResponse};

pub static X_DROPPED_TOOLS: HeaderName = HeaderName::from_static("x-switchyard-dropped-tools");

/// What the gateway knows of one Responses request.
pub struct ResponsesReq {
    /// The id the answer gets when the gateway makes it (bridged).
    pub id: String,
    pub created_at: u64,
    decoded: OnceLock<Result<Decoded, ConvertError>>,
    /// The earlier turn named by `previous_response_id`, when stored here.
    previous: Option<Arc<StoredResponse>>,
    consumer: Option<Arc<str>>,
}

impl ResponsesReq {
    pub fn new() -> Self {
        let (a, b) = (fastrand::u64(..), fastrand::u64(..));
        ResponsesReq {
            id: format!("resp_sy{a:016x}{b:016x}"),
            created_at: crate::translate::now_secs(),
            decoded: OnceLock::new(),
            previous: None,
            consumer: None,
        }
    }

    pub fn decoded(&self, body: &[u8]) -> Result<&Decoded, ConvertError> {
        self.decoded
            .get_or_init(|| responses::decode_request(body))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The canonical request: the earlier turns, then this one's input.
    pub fn canonical(&self, body: &[u8]) -> Result<ChatRequest, ConvertError> {
        let d = self.decoded(body)?;
        let mut req = d.request.clone();
        if let Some(prev_id) = &d.previous_response_id {
            let Some(prev) = &self.previous else {
                return Err(ConvertError::new(
                    "previous_response_id",
                    format!(
                        "response `{prev_id}` is not stored by this gateway (unknown, expired, deleted, made with store: false or by a provider with its own Responses API); send the whole conversation in `input` instead"
                    ),
                ));
            };
            let mut system = prev.system.clone();
            let mut messages = prev.input.clone();
            let out: serde_json::Value = serde_json::from_slice(&prev.body).unwrap_or_default();
            responses::decode_input(
                out.get("output").unwrap_or(&serde_json::Value::Null),
                &mut system,
                &mut messages,
                "previous_response_id",
            )?;
            // This turn's instructions first, then what the conversation
            // said, then this turn's own system items.
            let (instructions, own) = req.system.split_at(usize::from(d.has_instructions));
            let mut all = instructions.to_vec();
            all.extend(system);
            all.extend_from_slice(own);
            req.system = all;
            messages.append(&mut req.messages);
            req.messages = messages;
        }
        Ok(req)
    }

    /// Look up `previous_response_id` (when this gateway stored it).
    pub async fn resolve(
        &mut self,
        store: &dyn ResponseStore,
        consumer: Option<Arc<str>>,
        body: &[u8],
    ) {
        self.consumer = consumer;
        let Some(prev) = previous_id(body) else {
            return;
        };
        self.previous = store
            .get(&prev)
            .await
            .filter(|r| r.consumer == self.consumer);
    }

    /// What a bridged answer to this request needs.
    pub fn fill(&self, body: &[u8], store: &Arc<dyn ResponseStore>) -> Option<Arc<ResponsesFill>> {
        let d = self.decoded(body).ok()?;
        let echo = Echo {
            id: self.id.clone(),
            created_at: self.created_at,
            ..d.echo.clone()
        };
        let dropped = (!d.dropped_tools.is_empty())
            .then(|| HeaderValue::from_str(&d.dropped_tools.join(", ")).ok())
            .flatten();
        let save = echo.store.then(|| {
            let req = self.canonical(body).unwrap_or_default();
            let system =
                req.system[usize::from(d.has_instructions).min(req.system.len())..].to_vec();
            Saver {
                store: store.clone(),
                consumer: self.consumer.clone(),
                system,
                input: req.messages,
            }
        });
        Some(Arc::new(ResponsesFill {
            echo,
            dropped,
            save,
        }))
    }
}

impl Default for ResponsesReq {
    fn default() -> Self {
        Self::new()
    }
}

/// `previous_response_id` of a body, read without decoding the rest.
fn previous_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Prev {
        #[serde(default)]
        previous_response_id: Option<String>,
    }
    serde_json::from_slice::<Prev>(body)
        .ok()?
        .previous_response_id
        .filter(|p| !p.is_empty())
}

/// What the translated answer of a Responses request needs.
pub struct ResponsesFill {
    pub echo: Echo,
    /// `x-switchyard-dropped-tools`, when built-in tools were left out.
    pub dropped: Option<HeaderValue>,
    save: Option<Saver>,
}

impl std::fmt::Debug for ResponsesFill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponsesFill")
            .field("id", &self.echo.id)
            .field("dropped", &self.dropped)
            .field("store", &self.save.is_some())
            .finish()
    }
}

struct Saver {
    store: Arc<dyn ResponseStore>,
    consumer: Option<Arc<str>>,
    system: Vec<String>,
    input: Vec<Message>,
}

impl Saver {
    fn save(&self, id: &str, body: Bytes) {
        self.store.put(StoredResponse {
            id: id.to_string(),
            consumer: self.consumer.clone(),
            body,
            system: self.system.clone(),
            input: self.input.clone(),
        });
    }
}

impl ResponsesFill {
    /// A whole answer as a `response` object, stored if asked.
    pub fn encode(&self, r: &ChatResponse) -> Vec<u8> {
        let body = responses::encode_response(r, &self.echo);
        if let Some(s) = &self.save {
            s.save(&self.echo.id, Bytes::from(body.clone()));
        }
        body
    }

    pub fn head(&self, h: &mut http::HeaderMap) {
        if let Some(v) = &self.dropped {
            h.insert(X_DROPPED_TOOLS.clone(), v.clone());
        }
    }

    /// The stream encoder, storing the final response when it ends well.
    pub fn stream_encoder(self: &Arc<Self>) -> Box<dyn StreamEncode> {
        Box::new(StoringEncoder {
            inner: responses::StreamEncoder::new(self.echo.clone()),
            fill: self.clone(),
        })
    }
}

struct StoringEncoder {
    inner: responses::StreamEncoder,
    fill: Arc<ResponsesFill>,
}

impl StreamEncode for StoringEncoder {
    fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>) {
        self.inner.encode(ev, out);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.inner.finish(out);
        if let (Some(s), Some(r)) = (&self.fill.save, self.inner.final_response())
            && r.get("status").and_then(|s| s.as_str()) != Some("failed")
            && let Ok(body) = serde_json::to_vec(r)
        {
            s.save(&self.fill.echo.id, Bytes::from(body));
        }
    }
}

/// `GET` / `DELETE /v1/responses/{id}` for what the gateway stored.
pub async fn stored(
    store: &dyn ResponseStore,
    consumer: Option<Arc<str>>,
    method: &Method,
    id: &str,
) -> Result<Response<GatewayBody>, GatewayError> {
    let found = store.get(id).await.filter(|r| r.consumer == consumer);
    let not_found = || GatewayError::ResponseNotFound { id: id.to_string() };
    let body = match *method {
        Method::GET => found.ok_or_else(not_found)?.body.clone(),
        Method::DELETE => {
            if found.is_none() || !store.delete(id).await {
                return Err(not_found());
            }
            Bytes::from(
                serde_json::json!({"id": id, "object": "response.deleted", "deleted": true})
                    .to_string(),
            )
        }
        _ => {
            return Err(GatewayError::MethodNotAllowed {
                method: method.to_string(),
                path: format!("/v1/responses/{id}"),
                allowed: "GET, DELETE",
            });
        }
    };
    let mut r = Response::new(GatewayBody::full(body));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        crate::body::APPLICATION_JSON.clone(),
    );
    Ok(r)
}
