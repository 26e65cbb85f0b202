//! `bedrock::decode_request` / `decode_response` / `decode_error` on arbitrary
//! bytes; whatever decodes must re-encode in every dialect without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{check_response_and_error, encode_request_all};
use switchyard_protocol::bedrock;

fuzz_target!(|body: &[u8]| {
    if let Ok(req) = bedrock::decode_request(body) {
        encode_request_all(&req);
    }
    check_response_and_error(body, bedrock::decode_response, bedrock::decode_error);
});
