//! The response as bytes: the head (status line, headers, `date`, the
//! body's framing) and the body's chunks. No I/O here.

use std::cell::RefCell;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::response::Parts;
use http::{StatusCode, Version};

use crate::http1::header_line;

/// How the body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 204, 304).
    None,
    /// `content-length` bytes.
    Length(u64),
    /// `transfer-encoding: chunked` (HTTP/1.1 bodies of unknown length).
    Chunked,
    /// Until the connection closes (HTTP/1.0 bodies of unknown length).
    Close,
}

/// What the response head says, decided from the response and the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub framing: Framing,
    /// The connection carries another request after this one.
    pub keep_alive: bool,
}

/// Decide the framing: the `content-length` the handler set, else the
/// body's exact size, else chunked (HTTP/1.1) or close-delimited (1.0).
pub fn plan(
    parts: &Parts,
    exact: Option<u64>,
    request_version: Version,
    head_request: bool,
    keep_alive: bool,
) -> Plan {
    let status = parts.status;
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let declared = crate::http1::content_length(&parts.headers).ok().flatten();
    let length = declared.or(exact);
    let framing = if bodiless || head_request {
        Framing::None
    } else {
        match length {
            Some(n) => Framing::Length(n),
            None if request_version == Version::HTTP_10 => Framing::Close,
            None => Framing::Chunked,
        }
    };
    Plan {
        framing,
        keep_alive: keep_alive && framing != Framing::Close,
    }
}

/// Write the head of `parts` as `plan` says into `out`.
pub fn encode_head(
    parts: &Parts,
    plan: Plan,
    exact: Option<u64>,
    request_version: Version,
    head_request: bool,
    out: &mut Vec<u8>,
) {
    let status = parts.status;
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_length = false;
    let mut has_date = false;
    for (name, value) in &parts.headers {
        // Framing and the connection are ours to say.
        if name == TRANSFER_ENCODING || name == CONNECTION {
            continue;
        }
        if name == CONTENT_LENGTH {
            has_length = true;
        }
        has_date |= name == DATE;
        header_line(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if !has_date {
        DATE_CACHE.with(|d| {
            let mut d = d.borrow_mut();
            header_line(out, b"date", d.now());
        });
    }
    match plan.framing {
        Framing::Length(n) if !has_length => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        // A HEAD answer says the length a GET would have had.
        Framing::None if head_request && !has_length => {
            if let Some(n) = exact {
                out.extend_from_slice(b"content-length: ");
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        _ => {}
    }
    if !plan.keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    } else if request_version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The size line before a chunk of `len` bytes.
pub fn chunk_start(len: usize, out: &mut Vec<u8>) {
    // Writing to a Vec does not fail.
    let _ = write!(out, "{len:x}\r\n");
}

/// After a chunk's bytes.
pub const CHUNK_END: &[u8] = b"\r\n";
/// The last chunk of a chunked body (no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

thread_local! {
    static DATE_CACHE: RefCell<DateCache> = const { RefCell::new(DateCache { second: u64::MAX, text: [0; 29] }) };
}

/// `date` as IMF-fixdate, formatted once a second per thread.
struct DateCache {
    second: u64,
    text: [u8; 29],
}

impl DateCache {
    fn now(&mut self) -> &[u8] {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if second != self.second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == self.text.len() {
                self.text.copy_from_slice(text.as_bytes());
                self.second = second;
            }
        }
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;

    fn parts(status: u16, headers: &[(&str, &str)]) -> Parts {
        let mut b = Response::builder().status(status);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn head(p: &Parts, exact: Option<u64>, v: Version, head_req: bool, ka: bool) -> (Plan, String) {
        let plan = plan(p, exact, v, head_req, ka);
        let mut out = Vec::new();
        encode_head(p, plan, exact, v, head_req, &mut out);
        (plan, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_full_body_gets_its_length_and_a_date() {
        let p = parts(200, &[("content-type", "application/json")]);
        let (plan, text) = head(&p, Some(42), Version::HTTP_11, false, true);
        assert_eq!(plan.framing, Framing::Length(42));
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ndate: "));
        assert!(
            text.ends_with(" GMT\r\ncontent-length: 42\r\n\r\n"),
            "{text}"
        );
        assert!(
            httparse::Response::new(&mut [httparse::EMPTY_HEADER; 8])
                .parse(text.as_bytes())
                .unwrap()
                .is_complete()
        );
    }

    #[test]
    fn a_stream_is_chunked_for_11_and_closes_for_10() {
        let p = parts(200, &[("content-type", "text/event-stream")]);
        let (plan, text) = head(&p, None, Version::HTTP_11, false, true);
        assert_eq!(
            plan,
            Plan {
                framing: Framing::Chunked,
                keep_alive: true
            }
        );
        assert!(text.contains("transfer-encoding: chunked\r\n"));
        let (plan, text) = head(&p, None, Version::HTTP_10, false, true);
        assert_eq!(
            plan,
            Plan {
                framing: Framing::Close,
                keep_alive: false
            }
        );
        assert!(text.contains("connection: close\r\n") && !text.contains("chunked"));
    }

    #[test]
    fn the_handlers_length_and_date_are_kept_hop_headers_are_ours() {
        let p = parts(
            200,
            &[
                ("content-length", "7"),
                ("date", "x"),
                ("connection", "keep-alive"),
                ("transfer-encoding", "chunked"),
            ],
        );
        let (plan, text) = head(&p, None, Version::HTTP_11, false, false);
        assert_eq!(plan.framing, Framing::Length(7));
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\ncontent-length: 7\r\ndate: x\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn bodiless_answers() {
        for status in [204, 304] {
            let (plan, text) = head(&parts(status, &[]), Some(0), Version::HTTP_11, false, true);
            assert_eq!(plan.framing, Framing::None);
            assert!(!text.contains("content-length"), "{text}");
        }
        let (plan, text) = head(&parts(200, &[]), Some(15), Version::HTTP_11, true, true);
        assert_eq!(plan.framing, Framing::None);
        assert!(text.contains("content-length: 15\r\n"));
        let (_, text) = head(&parts(599, &[]), Some(0), Version::HTTP_10, false, true);
        assert!(text.starts_with("HTTP/1.1 599 \r\n") && text.contains("connection: keep-alive"));
    }

    #[test]
    fn chunks() {
        let mut out = Vec::new();
        chunk_start(255, &mut out);
        out.extend_from_slice(CHUNK_END);
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(out, b"ff\r\n\r\n0\r\n\r\n");
    }
}
