//! `responses::decode_request` / `decode_response` on arbitrary bytes, and
//! `openai::decode_error` (the Responses error shape is OpenAI's): whatever
//! decodes must re-encode without panic, the request for every provider
//! dialect and as a Responses answer (through `encode_response` with the
//! request's echo), the answer in every dialect.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{check_response_and_error, encode_request_all};
use switchyard_protocol::canonical::ChatResponse;
use switchyard_protocol::{openai, responses};

fuzz_target!(|body: &[u8]| {
    if let Ok(d) = responses::decode_request(body) {
        encode_request_all(&d.request);
        // The answer to it, as a client would get it.
        let resp = ChatResponse {
            id: String::new(),
            model: d.request.model.clone(),
            created: 0,
            content: d
                .request
                .messages
                .iter()
                .flat_map(|m| m.content.iter().cloned())
                .collect(),
            stop_reason: switchyard_protocol::canonical::StopReason::Stop,
            usage: Default::default(),
        };
        let out = responses::encode_response(&resp, &d.echo);
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
    check_response_and_error(body, responses::decode_response, openai::decode_error);
});
