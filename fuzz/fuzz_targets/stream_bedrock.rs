//! `bedrock::StreamDecoder` (and its `eventstream::FrameDecoder`) fed in
//! fuzzer-chosen pieces (see `src/lib.rs` for the input layout): never
//! panics, gives the same frames and events as the input fed whole (when
//! neither run errors), and every event sequence it produces encodes in all
//! four dialects without panic.
//!
//! Bit 4 (0x10) of the first byte asks for the CRCs to be fixed first: the
//! bytes are walked as frames (by the length in each prelude) and both CRCs
//! are recomputed, so mutations of headers and payloads get past the checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{check_stream, chunks, split_header};
use switchyard_protocol::bedrock::{self, eventstream};

fn fix_crcs(data: &mut [u8]) {
    let mut at = 0;
    while data.len() - at >= 16 {
        let f = &mut data[at..];
        let total = u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
        if total < 16 || total > f.len() {
            break;
        }
        let prelude = eventstream::crc32(&f[0..8]);
        f[8..12].copy_from_slice(&prelude.to_be_bytes());
        let msg = eventstream::crc32(&f[..total - 4]);
        f[total - 4..total].copy_from_slice(&msg.to_be_bytes());
        at += total;
    }
}

fn frames(pieces: &[&[u8]]) -> (Vec<eventstream::Frame>, bool) {
    let mut d = eventstream::FrameDecoder::new();
    let mut out = Vec::new();
    for p in pieces {
        d.push(p);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    let _ = f.header_str(":event-type");
                    out.push(f);
                }
                Ok(None) => break,
                Err(_) => {
                    // Sticky: the same error again.
                    assert!(d.next_frame().is_err(), "FrameDecoder error is not sticky");
                    return (out, false);
                }
            }
        }
    }
    (out, true)
}

fuzz_target!(|input: &[u8]| {
    let mut owned;
    let input = if input.first().is_some_and(|b| b & 0x10 != 0) {
        owned = input.to_vec();
        let k = usize::from(owned[0] & 0x0f).min(owned.len() - 1);
        fix_crcs(&mut owned[1 + k..]);
        &owned[..]
    } else {
        input
    };

    let (lens, data) = split_header(input);
    let pieces = chunks(lens, data);
    let (split, split_ok) = frames(&pieces);
    let (whole, whole_ok) = frames(&[data]);
    if split_ok && whole_ok {
        assert_eq!(split, whole, "frames differ between chunked and whole input");
    }

    check_stream(bedrock::StreamDecoder::new, input);
});
