//! Dialect translation at the gateway's edges: which converter reads and
//! writes each wire format, and the ids, models and timestamps a
//! translated answer needs but its source did not carry. The conversions
//! themselves live in `switchyard-protocol` (hub and spoke through the
//! canonical model).

use bytes::Bytes;
use switchyard_protocol::canonical::{
    ChatRequest, ChatResponse, ConvertError, StreamError, StreamEvent,
};
use switchyard_protocol::dialect::{StreamDecode, StreamEncode};
use switchyard_protocol::{anthropic, bedrock, gemini, openai, responses};
use switchyard_providers::Dialect;

/// Read a client's chat request. `path_model`/`path_stream`: Gemini puts
/// them in the URL.
pub fn decode_request(
    client: Dialect,
    body: &[u8],
    path_model: &str,
    path_stream: bool,
) -> Result<ChatRequest, ConvertError> {
    match client {
        Dialect::OpenAi => openai::decode_request(body),
        Dialect::Anthropic => anthropic::decode_request(body),
        Dialect::Gemini => gemini::decode_request(path_model, path_stream, body),
        Dialect::Bedrock => bedrock::decode_request(body),
        Dialect::Responses => responses::decode_request(body).map(|d| d.request),
    }
}

/// Write the body a provider of `target` expects.
pub fn encode_request(target: Dialect, req: &ChatRequest) -> Result<Vec<u8>, ConvertError> {
    match target {
        Dialect::OpenAi => openai::encode_request(req),
        Dialect::Anthropic => anthropic::encode_request(req),
        Dialect::Gemini => gemini::encode_request(req),
        Dialect::Bedrock => bedrock::encode_request(req),
        // Only Responses clients reach a provider in this dialect, untranslated.
        Dialect::Responses => Err(ConvertError::new(
            "",
            "requests are not translated to the Responses API",
        )),
    }
}

/// What a translated answer is missing, filled in by the gateway.
#[derive(Clone, Debug)]
pub struct Fill {
    /// The model the request was sent with.
    pub model: String,
    pub client: Dialect,
    /// A Responses client's answer: the echo, ids and the store.
    pub responses: Option<std::sync::Arc<crate::responses::ResponsesFill>>,
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh id in the client's style.
pub fn new_id(client: Dialect) -> String {
    let n = fastrand::u64(..);
    match client {
        Dialect::Anthropic => format!("msg_sy{n:016x}"),
        Dialect::OpenAi => format!("chatcmpl-sy{n:016x}"),
        Dialect::Responses => format!("resp_sy{n:016x}"),
        Dialect::Gemini | Dialect::Bedrock => format!("sy{n:016x}"),
    }
}

impl Fill {
    fn ids(&self, id: &mut String, model: &mut String, created: &mut u64) {
        if let Some(r) = &self.responses {
            // The id the gateway gave the response (logs show what the
            // client got; the store keeps it under that id).
            id.clone_from(&r.echo.id);
        } else if id.is_empty() {
            *id = new_id(self.client);
        } else if self.client == Dialect::Anthropic && !id.starts_with("msg_") {
            // Claude clients expect message ids in their own form.
            *id = format!("msg_{id}");
        }
        if model.is_empty() {
            model.clone_from(&self.model);
        }
        if *created == 0 {
            *created = now_secs();
        }
    }

    pub fn response(&self, r: &mut ChatResponse) {
        self.ids(&mut r.id, &mut r.model, &mut r.created);
    }

    pub fn event(&self, ev: &mut StreamEvent) {
        if let StreamEvent::Start {
            id, model, created, ..
        } = ev
        {
            self.ids(id, model, created);
        }
    }
}

/// A provider's non-streamed answer in the client's dialect.
pub fn translate_response(
    target: Dialect,
    fill: &Fill,
    body: &[u8],
) -> Result<Vec<u8>, ConvertError> {
    let mut r = match target {
        Dialect::OpenAi => openai::decode_response(body),
        Dialect::Anthropic => anthropic::decode_response(body),
        Dialect::Gemini => gemini::decode_response(body),
        Dialect::Bedrock => bedrock::decode_response(body),
        Dialect::Responses => responses::decode_response(body),
    }?;
    fill.response(&mut r);
    Ok(match fill.client {
        Dialect::OpenAi => openai::encode_response(&r),
        Dialect::Anthropic => anthropic::encode_response(&r),
        Dialect::Gemini => gemini::encode_response(&r),
        Dialect::Bedrock => bedrock::encode_response(&r),
        Dialect::Responses => match &fill.responses {
            Some(f) => f.encode(&r),
            None => responses::encode_response(&r, &responses::Echo::default()),
        },
    })
}

/// A provider's error body as a canonical error.
pub fn decode_error(target: Dialect, status: u16, body: &[u8]) -> StreamError {
    match target {
        Dialect::OpenAi | Dialect::Responses => openai::decode_error(status, body),
        Dialect::Anthropic => anthropic::decode_error(status, body),
        Dialect::Gemini => gemini::decode_error(status, body),
        Dialect::Bedrock => bedrock::decode_error(status, body),
    }
}

/// An error body in the client's dialect.
pub fn encode_error(client: Dialect, status: u16, err: &StreamError) -> Vec<u8> {
    match client {
        Dialect::OpenAi | Dialect::Bedrock | Dialect::Responses => {
            openai::encode_error(status, err)
        }
        Dialect::Anthropic => anthropic::encode_error(status, err),
        Dialect::Gemini => gemini::encode_error(status, err),
    }
}

/// One error event in the client's stream format.
pub fn stream_error_event(client: Dialect, err: &StreamError) -> Bytes {
    let mut out = Vec::new();
    let mut enc = stream_encoder(client, false);
    enc.encode(&StreamEvent::Error { error: err.clone() }, &mut out);
    Bytes::from(out)
}

pub fn stream_decoder(target: Dialect) -> Box<dyn StreamDecode> {
    match target {
        Dialect::OpenAi => Box::new(openai::StreamDecoder::new()),
        Dialect::Anthropic => Box::new(anthropic::StreamDecoder::new()),
        Dialect::Gemini => Box::new(gemini::StreamDecoder::new()),
        Dialect::Bedrock => Box::new(bedrock::StreamDecoder::new()),
        Dialect::Responses => Box::new(responses::StreamDecoder::new()),
    }
}

pub fn stream_encoder(client: Dialect, include_usage: bool) -> Box<dyn StreamEncode> {
    match client {
        Dialect::OpenAi => Box::new(openai::StreamEncoder::new(include_usage)),
        Dialect::Anthropic => Box::new(anthropic::StreamEncoder::new()),
        Dialect::Gemini => Box::new(gemini::StreamEncoder::new()),
        Dialect::Bedrock => Box::new(bedrock::StreamEncoder::new()),
        Dialect::Responses => Box::new(responses::StreamEncoder::new(responses::Echo::default())),
    }
}

/// The client's stream encoder for a translated answer.
pub fn stream_encoder_for(fill: &Fill, include_usage: bool) -> Box<dyn StreamEncode> {
    match &fill.responses {
        Some(r) => r.stream_encoder(),
        None => stream_encoder(fill.client, include_usage),
    }
}

/// The encoder for a Gemini client streaming without `alt=sse`: one JSON
/// array, element by element.
pub fn gemini_array_encoder() -> Box<dyn StreamEncode> {
    Box::new(gemini::StreamEncoder::json_array())
}

/// The content type of a provider's stream.
pub fn stream_content_type(target: Dialect) -> &'static str {
    match target {
        Dialect::Bedrock => "application/vnd.amazon.eventstream",
        _ => "text/event-stream",
    }
}
