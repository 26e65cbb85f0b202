//! Incremental Server-Sent Events parser.
//!
//! Upstream bytes arrive in arbitrary pieces: an event may span several
//! network reads and one read may carry several events. [`SseParser`] keeps
//! the incomplete tail and hands out each complete event exactly once, with
//! its raw bytes (for relaying unchanged) and its decoded `event`/`data`
//! fields (for inspection). Line endings may be `\n`, `\r\n` or `\r`, mixed.

use bytes::{Bytes, BytesMut};

/// Default bound on one event's size; a stream that sends more without a
/// blank line is treated as broken rather than buffered forever.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One complete event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The exact bytes of the event, terminating blank line included.
    pub raw: Bytes,
    /// The `event:` field, if present.
    pub event: Option<Bytes>,
    /// The `data:` field(s), joined with `\n` when there are several.
    /// `None` for events that carry no data (comments, keep-alives).
    pub data: Option<Bytes>,
}

impl SseEvent {
    pub fn data_str(&self) -> Option<&str> {
        self.data
            .as_deref()
            .and_then(|d| std::str::from_utf8(d).ok())
    }

    pub fn event_str(&self) -> Option<&str> {
        self.event
            .as_deref()
            .and_then(|d| std::str::from_utf8(d).ok())
    }

    /// Whether this is OpenAI's end-of-stream marker `data: [DONE]`.
    pub fn is_done(&self) -> bool {
        self.data.as_deref() == Some(b"[DONE]")
    }
}

/// The stream sent more than the configured bound without ending an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventTooLarge {
    pub limit: usize,
}

impl std::fmt::Display for EventTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a server-sent event exceeded {} bytes without ending",
            self.limit
        )
    }
}

impl std::error::Error for EventTooLarge {}

#[derive(Debug)]
pub struct SseParser {
    buf: BytesMut,
    /// Start of the next line not yet examined, relative to `buf`.
    scan: usize,
    max_event_bytes: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_EVENT_BYTES)
    }

    pub fn with_limit(max_event_bytes: usize) -> Self {
        SseParser {
            buf: BytesMut::new(),
            scan: 0,
            max_event_bytes,
        }
    }

    /// Append bytes read from the network.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes held that do not yet form a complete event.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete event that carries data, with its data taken out:
    /// what a stream decoder reads (comments and keep-alives skipped).
    pub fn next_data(&mut self) -> Result<Option<(SseEvent, Bytes)>, EventTooLarge> {
        while let Some(mut ev) = self.next_event()? {
            if let Some(data) = ev.data.take() {
                return Ok(Some((ev, data)));
            }
        }
        Ok(None)
    }

    /// The next complete event, if the buffered bytes hold one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, EventTooLarge> {
        loop {
            let rest = &self.buf[self.scan..];
            let Some(i) = memchr::memchr2(b'\n', b'\r', rest) else {
                return self.check_limit();
            };
            let at = self.scan + i;
            let term = if self.buf[at] == b'\r' {
                match self.buf.get(at + 1) {
                    // A lone `\r` at the end may be the first half of `\r\n`.
                    None => return self.check_limit(),
                    Some(b'\n') => 2,
                    Some(_) => 1,
                }
            } else {
                1
            };
            let line_empty = at == self.scan;
            self.scan = at + term;
            if line_empty {
                let raw = self.buf.split_to(self.scan).freeze();
                self.scan = 0;
                if raw.len() == term {
                    // A blank line with no event before it (e.g. stray
                    // separators): nothing to hand out, keep it as raw
                    // bytes of an empty event so relays stay byte-exact.
                    return Ok(Some(SseEvent {
                        raw,
                        event: None,
                        data: None,
                    }));
                }
                return Ok(Some(decode(raw)));
            }
        }
    }

    /// The end of the stream: whatever is left, if it holds any field, as a
    /// final event (some servers omit the last blank line).
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.buf.is_empty() {
            return None;
        }
        let raw = self.buf.split().freeze();
        self.scan = 0;
        let ev = decode(raw);
        if ev.data.is_none() && ev.event.is_none() {
            None
        } else {
            Some(ev)
        }
    }

    fn check_limit(&self) -> Result<Option<SseEvent>, EventTooLarge> {
        if self.buf.len() > self.max_event_bytes {
            Err(EventTooLarge {
                limit: self.max_event_bytes,
            })
        } else {
            Ok(None)
        }
    }
}

/// Split the raw event into lines and pick out its fields.
fn decode(raw: Bytes) -> SseEvent {
    let mut event = None;
    let mut data: Option<Bytes> = None;
    let mut joined: Option<Vec<u8>> = None;
    let mut pos = 0;
    let len = raw.len();
    while pos < len {
        let end = memchr::memchr2(b'\n', b'\r', &raw[pos..]).map_or(len, |i| pos + i);
        let line = &raw[pos..end];
        let next = if end < len && raw[end] == b'\r' && raw.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            end + 1
        };
        if !line.is_empty() && line[0] != b':' {
            let (name, value_start) = match memchr::memchr(b':', line) {
                Some(c) => {
                    let v = c + 1;
                    let v = if line.get(v) == Some(&b' ') { v + 1 } else { v };
                    (&line[..c], pos + v)
                }
                None => (line, end),
            };
            let value = raw.slice(value_start..end);
            match name {
                b"data" => match (&mut joined, &data) {
                    (Some(buf), _) => {
                        buf.push(b'\n');
                        buf.extend_from_slice(&value);
                    }
                    (None, Some(first)) => {
                        let mut buf = Vec::with_capacity(first.len() + value.len() + 1);
                        buf.extend_from_slice(first);
                        buf.push(b'\n');
                        buf.extend_from_slice(&value);
                        joined = Some(buf);
                    }
                    (None, None) => data = Some(value),
                },
                b"event" => event = Some(value),
                _ => {}
            }
        }
        pos = next;
    }
    if let Some(buf) = joined {
        data = Some(Bytes::from(buf));
    }
    SseEvent { raw, event, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut SseParser) -> Vec<SseEvent> {
        let mut out = vec![];
        while let Some(e) = p.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    fn parse_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = vec![];
        for c in input.chunks(piece.max(1)) {
            p.push(c);
            out.extend(all(&mut p));
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn next_data_skips_events_without_data_and_hands_the_data_over() {
        let mut p = SseParser::new();
        p.push(b": keep-alive\n\nevent: ping\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: x");
        let (ev, data) = p.next_data().unwrap().unwrap();
        assert_eq!(ev.event_str(), Some("message_start"));
        assert_eq!(&data[..], b"{\"a\":1}");
        assert!(ev.data.is_none(), "the data is handed over, not copied");
        // The last event is not complete yet.
        assert!(p.next_data().unwrap().is_none());
    }

    #[test]
    fn openai_events_and_done() {
        let input = b"data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
        let evs = parse_in_pieces(input, 1000);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].data_str(), Some("{\"a\":1}"));
        assert_eq!(&evs[1].raw[..], b"data: {\"b\":2}\n\n");
        assert!(evs[2].is_done());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let input: &[u8] = b"event: message_start\r\ndata: {\"x\": 1}\r\n\r\n: comment\n\ndata: a\ndata: b\n\ndata:no-space\r\rdata: [DONE]\n\n";
        let whole = parse_in_pieces(input, input.len());
        for piece in 1..input.len() {
            assert_eq!(parse_in_pieces(input, piece), whole, "piece size {piece}");
        }
        assert_eq!(whole[0].event_str(), Some("message_start"));
        assert_eq!(whole[0].data_str(), Some("{\"x\": 1}"));
        assert_eq!(whole[1].data, None);
        assert_eq!(whole[2].data_str(), Some("a\nb"));
        assert_eq!(whole[3].data_str(), Some("no-space"));
        assert!(whole[4].is_done());
        let raw: Vec<u8> = whole.iter().flat_map(|e| e.raw.to_vec()).collect();
        assert_eq!(raw, input, "raw bytes concatenate back to the input");
    }

    #[test]
    fn lone_cr_at_end_waits_for_next_byte() {
        let mut p = SseParser::new();
        p.push(b"data: x\r\n\r");
        assert!(p.next_event().unwrap().is_none());
        p.push(b"\n");
        let e = p.next_event().unwrap().unwrap();
        assert_eq!(&e.raw[..], b"data: x\r\n\r\n");
    }

    #[test]
    fn unterminated_tail_is_returned_by_finish() {
        let mut p = SseParser::new();
        p.push(b"data: [DONE]");
        assert!(p.next_event().unwrap().is_none());
        assert!(p.finish().unwrap().is_done());
        assert!(p.finish().is_none());
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut p = SseParser::with_limit(8);
        p.push(b"data: 0123456789");
        assert_eq!(p.next_event(), Err(EventTooLarge { limit: 8 }));
    }
}
