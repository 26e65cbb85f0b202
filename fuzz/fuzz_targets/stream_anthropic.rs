//! `anthropic::StreamDecoder` fed in fuzzer-chosen pieces (see `src/lib.rs` for
//! the input layout): never panics, gives the same events as the input fed
//! whole (when neither run errors), and every event sequence it produces
//! encodes in all four dialects without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::check_stream;
use switchyard_protocol::anthropic;

fuzz_target!(|input: &[u8]| {
    check_stream(anthropic::StreamDecoder::new, input);
});
