//! The AWS event-stream binary framing (`application/vnd.amazon.eventstream`)
//! that ConverseStream answers in.
//!
//! A frame (AWS calls it a message) is:
//!
//! ```text
//! +----------------+-----------------+-------------+---------+---------+-------------+
//! | total len (u32)| headers len(u32)| prelude CRC | headers | payload | message CRC |
//! +----------------+-----------------+-------------+---------+---------+-------------+
//!   big-endian       big-endian        CRC32 of the   see below          CRC32 of all
//!                                      first 8 bytes                     bytes before it
//! ```
//!
//! Each header is `name len (u8) | name (UTF-8) | type (u8) | value`, with
//! value types 0/1 bool true/false (no bytes), 2 i8, 3 i16, 4 i32, 5 i64,
//! 6 byte array and 7 string (both `u16` length then bytes), 8 timestamp
//! (i64 milliseconds) and 9 UUID (16 bytes). All integers are big-endian.
//! The CRC is CRC-32 (IEEE 802.3, the zlib/PNG one).

use bytes::{Buf, Bytes, BytesMut};

use crate::canonical::ConvertError;

/// Upper bound on one frame (prelude, headers, payload and CRC), as in the
/// AWS SDKs.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;
/// Prelude (12 bytes) plus the message CRC (4 bytes).
const MIN_FRAME_LEN: usize = 16;

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Bytes,
}

impl Frame {
    /// The value of a string header (e.g. `:event-type`), if present.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Bytes),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

/// Incremental frame decoder: feed network reads with [`push`](Self::push),
/// then drain complete frames with [`next_frame`](Self::next_frame).
///
/// Both CRCs are verified; a frame longer than [`MAX_FRAME_LEN`] is an error
/// as soon as its prelude has arrived (nothing is buffered for it). After an
/// error the stream cannot be resynchronised and the same error is returned
/// again.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
    failed: Option<ConvertError>,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// Bytes received but not yet part of a complete frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn next_frame(&mut self) -> Result<Option<Frame>, ConvertError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.try_next() {
            Err(e) => {
                self.buf.clear();
                self.failed = Some(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn try_next(&mut self) -> Result<Option<Frame>, ConvertError> {
        if self.buf.len() < 12 {
            return Ok(None);
        }
        let total = be_u32(&self.buf[0..4]) as usize;
        let headers_len = be_u32(&self.buf[4..8]) as usize;
        let prelude_crc = be_u32(&self.buf[8..12]);
        if crc32(&self.buf[0..8]) != prelude_crc {
            return Err(err("prelude CRC mismatch"));
        }
        if total < MIN_FRAME_LEN {
            return Err(err(format!("frame length {total} is too small")));
        }
        if total > MAX_FRAME_LEN {
            return Err(err(format!(
                "frame length {total} exceeds the {MAX_FRAME_LEN} byte limit"
            )));
        }
        if headers_len > total - MIN_FRAME_LEN {
            return Err(err(format!(
                "headers length {headers_len} does not fit in a frame of {total} bytes"
            )));
        }
        if self.buf.len() < total {
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        let message_crc = be_u32(&frame[total - 4..]);
        if crc32(&frame[..total - 4]) != message_crc {
            return Err(err("message CRC mismatch"));
        }
        let headers = parse_headers(frame.slice(12..12 + headers_len))?;
        let payload = frame.slice(12 + headers_len..total - 4);
        Ok(Some(Frame { headers, payload }))
    }
}

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError::new("event-stream", msg)
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn parse_headers(mut b: Bytes) -> Result<Vec<(String, HeaderValue)>, ConvertError> {
    fn need(b: &Bytes, n: usize) -> Result<(), ConvertError> {
        if b.remaining() < n {
            Err(err("truncated header"))
        } else {
            Ok(())
        }
    }
    let mut out = Vec::new();
    while b.has_remaining() {
        let name_len = usize::from(b.get_u8());
        need(&b, name_len + 1)?;
        let name = String::from_utf8(b.split_to(name_len).to_vec())
            .map_err(|_| err("header name is not UTF-8"))?;
        let value = match b.get_u8() {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => {
                need(&b, 1)?;
                HeaderValue::Byte(b.get_i8())
            }
            3 => {
                need(&b, 2)?;
                HeaderValue::Short(b.get_i16())
            }
            4 => {
                need(&b, 4)?;
                HeaderValue::Int(b.get_i32())
            }
            5 => {
                need(&b, 8)?;
                HeaderValue::Long(b.get_i64())
            }
            t @ (6 | 7) => {
                need(&b, 2)?;
                let n = usize::from(b.get_u16());
                need(&b, n)?;
                let v = b.split_to(n);
                if t == 6 {
                    HeaderValue::Bytes(v)
                } else {
                    HeaderValue::String(
                        String::from_utf8(v.to_vec())
                            .map_err(|_| err(format!("header {name} is not UTF-8")))?,
                    )
                }
            }
            8 => {
                need(&b, 8)?;
                HeaderValue::Timestamp(b.get_i64())
            }
            9 => {
                need(&b, 16)?;
                let mut u = [0u8; 16];
                b.copy_to_slice(&mut u);
                HeaderValue::Uuid(u)
            }
            t => return Err(err(format!("header {name} has unknown type {t}"))),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// One frame with string headers (type 7). Names longer than 255 bytes and
/// values longer than 65535 bytes are truncated (at a byte boundary; real
/// headers are short ASCII).
pub fn encode_frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut hbuf = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(usize::from(u8::MAX))];
        let value = &value.as_bytes()[..value.len().min(usize::from(u16::MAX))];
        hbuf.push(name.len() as u8);
        hbuf.extend_from_slice(name);
        hbuf.push(7);
        hbuf.extend_from_slice(&(value.len() as u16).to_be_bytes());
        hbuf.extend_from_slice(value);
    }
    let total = 12 + hbuf.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(hbuf.len() as u32).to_be_bytes());
    let prelude_crc = crc32(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hbuf);
    out.extend_from_slice(payload);
    let message_crc = crc32(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// CRC-32/IEEE (reflected polynomial 0xEDB88320), as AWS event streams use.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn encode_then_decode() {
        let bytes = encode_frame(
            &[(":event-type", "messageStart"), (":message-type", "event")],
            br#"{"role":"assistant"}"#,
        );
        let mut d = FrameDecoder::new();
        d.push(&bytes[..5]);
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(&bytes[5..]);
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.header_str(":event-type"), Some("messageStart"));
        assert_eq!(f.header_str(":message-type"), Some("event"));
        assert_eq!(&f.payload[..], br#"{"role":"assistant"}"#);
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn empty_frame() {
        let bytes = encode_frame(&[], b"");
        assert_eq!(bytes.len(), 16);
        let mut d = FrameDecoder::new();
        d.push(&bytes);
        let f = d.next_frame().unwrap().unwrap();
        assert!(f.headers.is_empty() && f.payload.is_empty());
    }

    #[test]
    fn corrupt_payload_is_a_message_crc_error() {
        let mut bytes = encode_frame(&[(":event-type", "x")], b"{}");
        let n = bytes.len();
        bytes[n - 5] ^= 1;
        let mut d = FrameDecoder::new();
        d.push(&bytes);
        let e = d.next_frame().unwrap_err();
        assert!(e.message.contains("message CRC"), "{e}");
        // Sticky: the stream cannot be resynchronised.
        d.push(&encode_frame(&[], b""));
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn corrupt_prelude_is_detected_before_the_frame_arrives() {
        let mut bytes = encode_frame(&[(":event-type", "x")], b"{}");
        bytes[3] ^= 0x40;
        let mut d = FrameDecoder::new();
        d.push(&bytes[..12]);
        let e = d.next_frame().unwrap_err();
        assert!(e.message.contains("prelude CRC"), "{e}");
    }

    #[test]
    fn oversized_frame_is_refused_from_its_prelude() {
        let total = (MAX_FRAME_LEN + 1) as u32;
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&total.to_be_bytes());
        prelude.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        let mut d = FrameDecoder::new();
        d.push(&prelude);
        let e = d.next_frame().unwrap_err();
        assert!(e.message.contains("exceeds"), "{e}");
    }

    #[test]
    fn headers_longer_than_the_frame_are_refused() {
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&20u32.to_be_bytes());
        prelude.extend_from_slice(&8u32.to_be_bytes());
        let crc = crc32(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        let mut d = FrameDecoder::new();
        d.push(&prelude);
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn all_header_types_parse() {
        let mut h = Vec::new();
        let mut put = |name: &str, ty: u8, val: &[u8]| {
            h.push(name.len() as u8);
            h.extend_from_slice(name.as_bytes());
            h.push(ty);
            h.extend_from_slice(val);
        };
        put("t", 0, &[]);
        put("f", 1, &[]);
        put("b", 2, &[0xff]);
        put("s", 3, &(-2i16).to_be_bytes());
        put("i", 4, &7i32.to_be_bytes());
        put("l", 5, &(-9i64).to_be_bytes());
        put("y", 6, &[0, 2, 1, 2]);
        put("z", 7, &[0, 2, b'h', b'i']);
        put("ts", 8, &1_000i64.to_be_bytes());
        put("u", 9, &[7u8; 16]);
        let total = 12 + h.len() + 4;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(total as u32).to_be_bytes());
        bytes.extend_from_slice(&(h.len() as u32).to_be_bytes());
        let crc = crc32(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        bytes.extend_from_slice(&h);
        let crc = crc32(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        let mut d = FrameDecoder::new();
        d.push(&bytes);
        let f = d.next_frame().unwrap().unwrap();
        let values: Vec<HeaderValue> = f.headers.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            vec![
                HeaderValue::Bool(true),
                HeaderValue::Bool(false),
                HeaderValue::Byte(-1),
                HeaderValue::Short(-2),
                HeaderValue::Int(7),
                HeaderValue::Long(-9),
                HeaderValue::Bytes(Bytes::from_static(&[1, 2])),
                HeaderValue::String("hi".into()),
                HeaderValue::Timestamp(1_000),
                HeaderValue::Uuid([7u8; 16]),
            ]
        );
    }
}
