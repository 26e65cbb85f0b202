//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): trace and span
//! ids and the `traceparent` header.
//!
//! Only `traceparent` is handled; `tracestate` is neither parsed nor
//! forwarded by this crate.

use std::fmt;

use http::HeaderValue;

/// Name of the W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

/// Length of a version-00 `traceparent` value:
/// `2 + 1 + 32 + 1 + 16 + 1 + 2`.
const TRACEPARENT_LEN: usize = 55;

/// A 16-byte trace id. The all-zero id is invalid and is never generated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id. The all-zero id is invalid and is never generated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// The invalid all-zero id.
    pub const INVALID: TraceId = TraceId([0; 16]);

    /// A random, non-zero trace id.
    pub fn random() -> Self {
        loop {
            let n = fastrand::u128(..);
            if n != 0 {
                return TraceId(n.to_be_bytes());
            }
        }
    }

    /// Whether the id has at least one non-zero byte.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 16]
    }

    /// Parses 32 lowercase hex digits; `None` for anything else, including
    /// the all-zero id.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut bytes = [0; 16];
        decode_hex_lower(hex.as_bytes(), &mut bytes)?;
        let id = TraceId(bytes);
        id.is_valid().then_some(id)
    }
}

impl SpanId {
    /// The invalid all-zero id.
    pub const INVALID: SpanId = SpanId([0; 8]);

    /// A random, non-zero span id.
    pub fn random() -> Self {
        loop {
            let n = fastrand::u64(..);
            if n != 0 {
                return SpanId(n.to_be_bytes());
            }
        }
    }

    /// Whether the id has at least one non-zero byte.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 8]
    }

    /// Parses 16 lowercase hex digits; `None` for anything else, including
    /// the all-zero id.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut bytes = [0; 8];
        decode_hex_lower(hex.as_bytes(), &mut bytes)?;
        let id = SpanId(bytes);
        id.is_valid().then_some(id)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// The part of a span's identity that crosses process boundaries in
/// `traceparent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceContext {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The `sampled` bit of the trace flags.
    pub sampled: bool,
}

impl TraceContext {
    /// Parses a `traceparent` header value strictly as the W3C
    /// recommendation requires; `None` means "ignore it and start a new
    /// trace".
    ///
    /// - Optional whitespace (space, tab) around the value is ignored, as
    ///   for any HTTP field value.
    /// - Version `00`: exactly `00-<32 hex>-<16 hex>-<2 hex>`, lowercase hex
    ///   only, neither id all zeros.
    /// - Version `ff` is invalid.
    /// - Higher versions are parsed as version 00 on their first 55
    ///   characters, which must be the whole value or be followed by `-`;
    ///   only the sampled bit of their flags is used.
    pub fn parse_traceparent(value: &str) -> Option<TraceContext> {
        let value = value.trim_matches([' ', '\t']);
        let b = value.as_bytes();
        if b.len() < TRACEPARENT_LEN {
            return None;
        }
        let mut version = [0u8; 1];
        decode_hex_lower(&b[0..2], &mut version)?;
        match version[0] {
            0x00 if b.len() != TRACEPARENT_LEN => return None,
            0xff => return None,
            0x00 => {}
            _ if b.len() > TRACEPARENT_LEN && b[TRACEPARENT_LEN] != b'-' => return None,
            _ => {}
        }
        if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let mut trace_id = [0u8; 16];
        decode_hex_lower(&b[3..35], &mut trace_id)?;
        let mut span_id = [0u8; 8];
        decode_hex_lower(&b[36..52], &mut span_id)?;
        let mut flags = [0u8; 1];
        decode_hex_lower(&b[53..55], &mut flags)?;
        let (trace_id, span_id) = (TraceId(trace_id), SpanId(span_id));
        if !trace_id.is_valid() || !span_id.is_valid() {
            return None;
        }
        Some(TraceContext {
            trace_id,
            span_id,
            sampled: flags[0] & 0x01 != 0,
        })
    }

    /// Parses a `traceparent` header; `None` if it is not valid UTF-8 or not
    /// a valid `traceparent`.
    pub fn from_header(value: &HeaderValue) -> Option<TraceContext> {
        value.to_str().ok().and_then(Self::parse_traceparent)
    }

    /// A new trace: random trace and span ids.
    pub fn new_root(sampled: bool) -> TraceContext {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            sampled,
        }
    }

    /// A child in the same trace with the same sampling decision and a new
    /// random span id (the parent's span id is `self.span_id`).
    pub fn child(&self) -> TraceContext {
        TraceContext {
            trace_id: self.trace_id,
            span_id: SpanId::random(),
            sampled: self.sampled,
        }
    }

    /// The version-00 `traceparent` header value for this context:
    /// `00-<trace id>-<span id>-01` when sampled, `-00` otherwise.
    pub fn traceparent(&self) -> HeaderValue {
        let mut buf = [0u8; TRACEPARENT_LEN];
        buf[0] = b'0';
        buf[1] = b'0';
        buf[2] = b'-';
        encode_hex_lower(&self.trace_id.0, &mut buf[3..35]);
        buf[35] = b'-';
        encode_hex_lower(&self.span_id.0, &mut buf[36..52]);
        buf[52] = b'-';
        buf[53] = b'0';
        buf[54] = if self.sampled { b'1' } else { b'0' };
        // Every byte is `[0-9a-f-]`, which `from_bytes` always accepts; the
        // fallback exists only because the API returns a `Result`.
        HeaderValue::from_bytes(&buf).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Same as [`TraceContext::parse_traceparent`].
pub fn parse_traceparent(value: &str) -> Option<TraceContext> {
    TraceContext::parse_traceparent(value)
}

impl fmt::Display for TraceContext {
    /// The `traceparent` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = if self.sampled { "01" } else { "00" };
        write!(f, "00-{}-{}-{flags}", self.trace_id, self.span_id)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let mut buf = [0u8; 32];
    let out = &mut buf[..bytes.len() * 2];
    encode_hex_lower(bytes, out);
    for &c in out.iter() {
        fmt::Write::write_char(f, char::from(c))?;
    }
    Ok(())
}

/// Writes `2 * bytes.len()` lowercase hex digits into `out`.
fn encode_hex_lower(bytes: &[u8], out: &mut [u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
}

/// Decodes exactly `2 * out.len()` lowercase hex digits.
fn decode_hex_lower(hex: &[u8], out: &mut [u8]) -> Option<()> {
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (b, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *b = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(())
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_valid_version_00() {
        let ctx = TraceContext::parse_traceparent(VALID).unwrap();
        assert_eq!(ctx.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.span_id.to_string(), "00f067aa0ba902b7");
        assert!(ctx.sampled);

        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert!(!TraceContext::parse_traceparent(unsampled).unwrap().sampled);
    }

    #[test]
    fn only_the_sampled_bit_of_the_flags_is_used() {
        let other_bits = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe";
        assert!(!TraceContext::parse_traceparent(other_bits).unwrap().sampled);
        let with_sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
        assert!(
            TraceContext::parse_traceparent(with_sampled)
                .unwrap()
                .sampled
        );
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let padded = format!(" \t{VALID}\t ");
        assert!(TraceContext::parse_traceparent(&padded).is_some());
    }

    #[test]
    fn rejects_each_kind_of_invalid_value() {
        let cases = [
            ("empty", ""),
            (
                "too short",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            ),
            (
                "version 00 with trailing data",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            ),
            (
                "version 00 one char too long",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
            ),
            (
                "version ff",
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                "uppercase version",
                "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                "non-hex version",
                "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                "uppercase trace id",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            ),
            (
                "uppercase span id",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            ),
            (
                "uppercase flags",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
            ),
            (
                "non-hex trace id",
                "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
            ),
            (
                "non-hex span id",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
            ),
            (
                "non-hex flags",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            ),
            (
                "zero trace id",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            ),
            (
                "zero span id",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            ),
            (
                "wrong separator",
                "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                "missing separator",
                "00-4bf92f3577b34da6a3ce929d0e0e4736000f067aa0ba902b7-01",
            ),
            (
                "trace id too short",
                "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01-",
            ),
            (
                "span id too long",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b71-1",
            ),
            (
                "plus sign in id",
                "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                "future version without dash after flags",
                "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            ),
            (
                "future version with bad ids",
                "cc-00000000000000000000000000000000-00f067aa0ba902b7-01-x",
            ),
            (
                "interior whitespace",
                "00-4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7-01",
            ),
            (
                "non-ascii",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é",
            ),
        ];
        for (what, value) in cases {
            assert_eq!(
                TraceContext::parse_traceparent(value),
                None,
                "{what}: {value:?}"
            );
        }
    }

    #[test]
    fn accepts_future_versions() {
        let exact = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = TraceContext::parse_traceparent(exact).unwrap();
        assert!(ctx.sampled);
        assert_eq!(ctx.span_id.to_string(), "00f067aa0ba902b7");

        let extended =
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-the-future-holds";
        let ctx = TraceContext::parse_traceparent(extended).unwrap();
        assert!(!ctx.sampled);
        assert_eq!(ctx.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn round_trips_through_the_header() {
        for value in [
            VALID,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        ] {
            let ctx = TraceContext::parse_traceparent(value).unwrap();
            assert_eq!(ctx.traceparent(), value);
            assert_eq!(ctx.to_string(), value);
            assert_eq!(TraceContext::from_header(&ctx.traceparent()), Some(ctx));
        }
        for sampled in [true, false] {
            let ctx = TraceContext::new_root(sampled);
            let header = ctx.traceparent();
            assert_eq!(header.len(), 55);
            assert_eq!(TraceContext::from_header(&header), Some(ctx));
        }
    }

    #[test]
    fn future_version_is_re_emitted_as_version_00() {
        let ctx = TraceContext::parse_traceparent(
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        )
        .unwrap();
        assert_eq!(ctx.traceparent(), VALID);
    }

    #[test]
    fn child_keeps_trace_and_sampling_with_a_new_span_id() {
        let parent = TraceContext::parse_traceparent(VALID).unwrap();
        let child = parent.child();
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.sampled, parent.sampled);
        assert_ne!(child.span_id, parent.span_id);
    }

    #[test]
    fn ids_display_as_lowercase_hex() {
        let t = TraceId([
            0x00, 0x01, 0x0a, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0,
            0xb0, 0xc0,
        ]);
        assert_eq!(t.to_string(), "00010aff102030405060708090a0b0c0");
        assert_eq!(
            format!("{t:?}"),
            "TraceId(00010aff102030405060708090a0b0c0)"
        );
        assert_eq!(TraceId::from_hex(&t.to_string()), Some(t));
        let s = SpanId([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03]);
        assert_eq!(s.to_string(), "deadbeef00010203");
        assert_eq!(SpanId::from_hex("deadbeef00010203"), Some(s));
        assert_eq!(SpanId::from_hex("DEADBEEF00010203"), None);
        assert_eq!(SpanId::from_hex("0000000000000000"), None);
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let traces: std::collections::HashSet<_> = (0..1000).map(|_| TraceId::random()).collect();
        let spans: std::collections::HashSet<_> = (0..1000).map(|_| SpanId::random()).collect();
        assert_eq!(traces.len(), 1000);
        assert_eq!(spans.len(), 1000);
        assert!(traces.iter().all(TraceId::is_valid));
        assert!(spans.iter().all(SpanId::is_valid));
    }
}
