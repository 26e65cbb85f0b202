//! `responses::StreamDecoder` fed in fuzzer-chosen pieces (see `src/lib.rs`
//! for the input layout): never panics, gives the same events as the input
//! fed whole (when neither run errors), and every event sequence it produces
//! encodes in all five client dialects without panic; the Responses encoder's
//! output keeps the lifecycle (checked in `encode_stream_all`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::check_stream;
use switchyard_protocol::responses;

fuzz_target!(|input: &[u8]| {
    check_stream(responses::StreamDecoder::new, input);
});
