//! `openai::decode_request` / `decode_response` / `decode_error` on arbitrary
//! bytes; whatever decodes must re-encode in every dialect without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{check_response_and_error, encode_request_all};
use switchyard_protocol::openai;

fuzz_target!(|body: &[u8]| {
    if let Ok(req) = openai::decode_request(body) {
        encode_request_all(&req);
    }
    check_response_and_error(body, openai::decode_response, openai::decode_error);
    let _ = switchyard_protocol::usage::find_usage(body);
});
