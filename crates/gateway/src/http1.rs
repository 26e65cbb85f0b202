//! HTTP/1.1 pieces our server (`server::h1`) and our client
//! (`upstream::h1`) both use: the body's `Content-Length`, whether the
//! connection persists, and a header line. No I/O here.

use http::header::{CONNECTION, CONTENT_LENGTH};
use http::{HeaderMap, Version};

/// A `Content-Length` that is not one length (its text, for the message).
#[derive(Debug)]
pub struct InvalidLength(pub String);

/// The body's length from `Content-Length` (RFC 9112 §6.3: repeated equal
/// values are one length; differing or malformed ones are refused).
/// `Ok(None)`: no `Content-Length`.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, InvalidLength> {
    let mut length: Option<u64> = None;
    for value in &headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|&b| b == b',') {
            let n = std::str::from_utf8(part.trim_ascii())
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok());
            match (n, length) {
                (Some(n), None) => length = Some(n),
                (Some(n), Some(l)) if n == l => {}
                _ => {
                    return Err(InvalidLength(
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    ));
                }
            }
        }
    }
    Ok(length)
}

/// Whether the other side lets the connection carry another message:
/// HTTP/1.1 unless it says `close`, HTTP/1.0 only if it says `keep-alive`.
pub fn persistent(version: Version, headers: &HeaderMap) -> bool {
    let has = |token: &[u8]| {
        headers.get_all(CONNECTION).iter().any(|v| {
            v.as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
        })
    };
    if has(b"close") {
        return false;
    }
    version != Version::HTTP_10 || has(b"keep-alive")
}

/// `name: value\r\n`.
pub fn header_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}
