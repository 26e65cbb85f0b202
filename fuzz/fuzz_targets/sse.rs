//! `SseParser`: bytes pushed in fuzzer-chosen pieces. Never panics; the raw
//! bytes of all events plus the buffered remainder are the input; the events
//! do not depend on how the input was split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{chunks, split_header};
use switchyard_protocol::sse::{SseEvent, SseParser};
use switchyard_protocol::usage::find_usage;

/// Push the pieces, draining events after each; returns the events before
/// `finish`, the buffered count, and the `finish` event.
fn parse(mut p: SseParser, pieces: &[&[u8]]) -> (Vec<SseEvent>, usize, Option<SseEvent>, bool) {
    let mut events = Vec::new();
    for piece in pieces {
        p.push(piece);
        loop {
            match p.next_event() {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(_) => return (events, p.buffered(), None, false),
            }
        }
    }
    let buffered = p.buffered();
    let last = p.finish();
    (events, buffered, last, true)
}

fuzz_target!(|input: &[u8]| {
    let (lens, data) = split_header(input);
    let pieces = chunks(lens, data);

    let (events, buffered, last, ok) = parse(SseParser::new(), &pieces);
    assert!(ok, "16 MiB limit cannot be hit by a fuzz input");
    let mut raw: Vec<u8> = events.iter().flat_map(|e| e.raw.iter().copied()).collect();
    assert!(buffered <= data.len());
    assert_eq!(&raw[..], &data[..data.len() - buffered], "event raw bytes are the input prefix");
    if let Some(last) = &last {
        assert_eq!(&last.raw[..], &data[data.len() - buffered..], "finish() returns the remainder");
        raw.extend_from_slice(&last.raw);
    }

    // Fed whole, the same events come out.
    let (whole, whole_buffered, whole_last, _) = parse(SseParser::new(), &[data]);
    assert_eq!(events, whole, "events depend on how the input was split");
    assert_eq!(buffered, whole_buffered);
    assert_eq!(last, whole_last);

    for ev in events.iter().chain(&last) {
        let _ = ev.data_str();
        let _ = ev.event_str();
        let _ = ev.is_done();
        if let Some(d) = &ev.data {
            let _ = find_usage(d);
        }
    }

    // A small limit: errors, never panics; what came out is still a prefix.
    let limit = lens.first().map_or(0, |&l| usize::from(l));
    let (small, _, small_last, _) = parse(SseParser::with_limit(limit), &pieces);
    let small_raw: Vec<u8> = small.iter().chain(&small_last).flat_map(|e| e.raw.iter().copied()).collect();
    assert!(data.starts_with(&small_raw));
});
