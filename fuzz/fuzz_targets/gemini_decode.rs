//! `gemini::decode_request` / `decode_response` / `decode_error` on arbitrary
//! bytes; whatever decodes must re-encode in every dialect without panic.
//! The model and stream flag (URL parts in Gemini) are picked from the input
//! length, so the fuzzer reaches the `gemini-3*` encoding paths too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{check_response_and_error, encode_request_all};
use switchyard_protocol::gemini;

const MODELS: [&str; 3] = ["gemini-2.5-flash", "gemini-3-pro-preview", ""];

fuzz_target!(|body: &[u8]| {
    let model = MODELS[body.len() % MODELS.len()];
    let stream = body.len() % 2 == 1;
    if let Ok(req) = gemini::decode_request(model, stream, body) {
        encode_request_all(&req);
    }
    check_response_and_error(body, gemini::decode_response, gemini::decode_error);
});
