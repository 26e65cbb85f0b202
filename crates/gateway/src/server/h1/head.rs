//! The request head, parsed (with `httparse`) from the start of the
//! connection's read buffer: the `http` request parts, how long the body
//! is, and whether the connection may carry another request. No I/O here.
//!
//! What this codec does not serve goes to hyper with the bytes read so far
//! ([`Parsed::Elsewhere`]): HTTP/2 with prior knowledge, chunked request
//! bodies, upgrades, `CONNECT`, and expectations other than
//! `100-continue`. Those are rare on an AI gateway and hyper serves them
//! well; the common request (a head, then a body of known length) is
//! parsed here once, into parts that borrow one copy of the head.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{EXPECT, TRANSFER_ENCODING, UPGRADE};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// A request head over this many bytes is refused (431).
pub const MAX_HEAD: usize = 64 * 1024;
/// A request with more headers than this is refused (431).
pub const MAX_HEADERS: usize = 100;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the start of the read buffer holds.
#[derive(Debug)]
// Not boxed: a `Parsed` is returned once and taken apart at once, never
// stored, and a box would be one more allocation per request.
#[expect(clippy::large_enum_variant)]
pub enum Parsed {
    /// Not a whole head yet: read more.
    Partial,
    /// A head, `len` bytes long (the body, if any, follows).
    Head(Head, usize),
    /// A request this codec leaves to hyper (see the module's note).
    Elsewhere,
    /// Not a request the gateway can read: answer `status` and close.
    Bad(BadRequest),
}

/// A request head the codec refuses, with the words the client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    pub status: u16,
    pub message: String,
}

impl BadRequest {
    fn new(status: u16, message: impl Into<String>) -> BadRequest {
        BadRequest {
            status,
            message: message.into(),
        }
    }
}

/// One request's head, parsed.
#[derive(Debug)]
pub struct Head {
    pub parts: Parts,
    /// `Content-Length` (0 when absent).
    pub body_len: u64,
    /// The client waits for `100 Continue` before it sends the body.
    pub expects_continue: bool,
    /// The client allows another request on this connection after this one.
    pub keep_alive: bool,
}

/// Parse the request head at the start of `buf` (nothing is consumed).
pub fn parse(buf: &[u8]) -> Parsed {
    let n = buf.len().min(H2_PREFACE.len());
    if n > 0 && buf[..n] == H2_PREFACE[..n] {
        // HTTP/2 with prior knowledge (or its first bytes: wait for more).
        return if buf.len() >= H2_PREFACE.len() {
            Parsed::Elsewhere
        } else {
            Parsed::Partial
        };
    }
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, &mut slots)
    {
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Parsed::Bad(too_large());
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Ok(httparse::Status::Complete(len)) if len > MAX_HEAD => return Parsed::Bad(too_large()),
        Ok(httparse::Status::Complete(len)) => len,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Bad(BadRequest::new(
                431,
                format!("The request has more than {MAX_HEADERS} headers; send fewer."),
            ));
        }
        Err(e) => {
            return Parsed::Bad(BadRequest::new(
                400,
                format!(
                    "The request is not valid HTTP/1.1 ({e}); check the client's request line and headers."
                ),
            ));
        }
    };
    let version = match req.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let method = match req.method.map(|m| Method::from_bytes(m.as_bytes())) {
        Some(Ok(m)) => m,
        _ => return Parsed::Bad(BadRequest::new(400, "The request method is not valid.")),
    };
    if method == Method::CONNECT {
        return Parsed::Elsewhere;
    }
    // One copy of the head, exactly its size: the names, values and target
    // are slices of it, so the read buffer is free for the next read.
    let base = buf.as_ptr() as usize;
    let span = |s: &[u8]| {
        (s.as_ptr() as usize)
            .checked_sub(base)
            .filter(|_| !s.is_empty())
            .map_or((0, 0), |a| (a, a + s.len()))
    };
    let target = span(req.path.unwrap_or("/").as_bytes());
    let mut spans = [((0, 0), (0, 0)); MAX_HEADERS];
    let count = req.headers.len();
    for (slot, h) in spans.iter_mut().zip(req.headers.iter()) {
        *slot = (span(h.name.as_bytes()), span(h.value));
    }
    let raw = Bytes::copy_from_slice(&buf[..len]);
    let uri = match raw
        .get(target.0..target.1)
        .filter(|t| !t.is_empty())
        .map(|_| Uri::from_maybe_shared(raw.slice(target.0..target.1)))
    {
        Some(Ok(u)) => u,
        _ => {
            return Parsed::Bad(BadRequest::new(
                400,
                "The request target is not a valid URI path.",
            ));
        }
    };
    let mut headers = HeaderMap::with_capacity(count);
    // By reference: `into_iter` would move the whole array (3 KiB).
    for &((n0, n1), (v0, v1)) in spans.iter().take(count) {
        let Some(name) = raw.get(n0..n1).and_then(|n| HeaderName::from_bytes(n).ok()) else {
            return Parsed::Bad(BadRequest::new(400, "A header name is not valid."));
        };
        let value = match raw.get(v0..v1) {
            Some(_) => HeaderValue::from_maybe_shared(raw.slice(v0..v1)),
            None => HeaderValue::from_bytes(b""),
        };
        let Ok(value) = value else {
            return Parsed::Bad(BadRequest::new(
                400,
                format!("The value of the `{name}` header is not valid."),
            ));
        };
        headers.append(name, value);
    }
    if headers.contains_key(TRANSFER_ENCODING) || headers.contains_key(UPGRADE) {
        return Parsed::Elsewhere;
    }
    let expects_continue = match headers.get(EXPECT) {
        None => false,
        Some(v) if v.as_bytes().eq_ignore_ascii_case(b"100-continue") => true,
        Some(_) => return Parsed::Elsewhere,
    };
    let body_len = match crate::http1::content_length(&headers) {
        Ok(n) => n.unwrap_or(0),
        Err(bad) => {
            return Parsed::Bad(BadRequest::new(
                400,
                format!(
                    "The Content-Length `{}` is not valid; send the body's length in bytes once.",
                    bad.0
                ),
            ));
        }
    };
    let keep_alive = crate::http1::persistent(version, &headers);
    let mut parts = Request::new(()).into_parts().0;
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    Parsed::Head(
        Head {
            parts,
            body_len,
            expects_continue,
            keep_alive,
        },
        len,
    )
}

fn too_large() -> BadRequest {
    BadRequest::new(
        431,
        format!(
            "The request head (request line and headers) is over {} KiB; send smaller headers.",
            MAX_HEAD / 1024
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> (Head, usize) {
        match parse(text.as_bytes()) {
            Parsed::Head(h, len) => (h, len),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn bad(text: &str) -> BadRequest {
        match parse(text.as_bytes()) {
            Parsed::Bad(b) => b,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn a_post_with_a_body() {
        let text = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"model\":1}";
        let (h, len) = head(text);
        assert_eq!(len, text.len() - 11);
        assert_eq!(h.parts.method, Method::POST);
        assert_eq!(h.parts.uri.path(), "/v1/chat/completions");
        assert_eq!(h.parts.uri.query(), Some("x=1"));
        assert_eq!(h.parts.version, Version::HTTP_11);
        assert_eq!(h.parts.headers["content-type"], "application/json");
        assert_eq!(h.parts.headers["host"], "gw");
        assert_eq!(h.body_len, 12);
        assert!(h.keep_alive && !h.expects_continue);
    }

    #[test]
    fn a_head_cut_anywhere_is_partial() {
        let text = "GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer sk-x\r\n\r\n";
        for cut in 0..text.len() {
            assert!(
                matches!(parse(&text.as_bytes()[..cut]), Parsed::Partial),
                "cut at {cut}"
            );
        }
        assert!(matches!(parse(text.as_bytes()), Parsed::Head(..)));
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection() {
        assert!(
            !head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(
            !head("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(!head("GET / HTTP/1.0\r\n\r\n").0.keep_alive);
        assert!(
            head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(head("GET / HTTP/1.1\r\n\r\n").0.keep_alive);
    }

    #[test]
    fn lengths_repeated_equal_are_one_others_are_refused() {
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n")
                .0
                .body_len,
            5
        );
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n")
                .0
                .body_len,
            5
        );
        for v in ["5, 6", "-1", "", "0x10", "1 2", "99999999999999999999999"] {
            let b = bad(&format!("POST / HTTP/1.1\r\nContent-Length: {v}\r\n\r\n"));
            assert_eq!(b.status, 400, "{v}");
            assert!(b.message.contains("Content-Length"), "{}", b.message);
        }
    }

    #[test]
    fn expect_continue_is_served_here_other_expectations_are_not() {
        assert!(
            head("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n")
                .0
                .expects_continue
        );
        assert!(matches!(
            parse(b"POST / HTTP/1.1\r\nExpect: something\r\n\r\n"),
            Parsed::Elsewhere
        ));
    }

    #[test]
    fn what_hyper_serves_goes_elsewhere() {
        for text in [
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
            "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert!(
                matches!(parse(text.as_bytes()), Parsed::Elsewhere),
                "{text:?}"
            );
        }
        // The preface's first bytes: wait for the rest.
        assert!(matches!(parse(b"PRI * HTTP/2"), Parsed::Partial));
    }

    #[test]
    fn malformed_heads_are_refused_with_words() {
        assert_eq!(bad("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").status, 400);
        assert_eq!(bad("GET /\x01 HTTP/1.1\r\n\r\n").status, 400);
        assert_eq!(bad("GET / HTTP/3.0\r\n\r\n").status, 400);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
        let b = bad(&format!("GET / HTTP/1.1\r\n{many}\r\n"));
        assert_eq!(b.status, 431);
        let long = "a".repeat(MAX_HEAD + 1);
        assert_eq!(bad(&format!("GET / HTTP/1.1\r\nx: {long}")).status, 431);
        assert_eq!(
            bad(&format!("GET / HTTP/1.1\r\nx: {long}\r\n\r\n")).status,
            431
        );
    }

    #[test]
    fn mutated_heads_never_panic_and_what_parses_is_consistent() {
        let base: &[u8] = b"POST /v1/chat/completions?a=1 HTTP/1.1\r\nHost: gw\r\nContent-Length: 12\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n{\"model\":1}";
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let mut b = base.to_vec();
            for _ in 0..rng.usize(1..4) {
                match rng.u8(0..3) {
                    0 => {
                        let i = rng.usize(..b.len());
                        b[i] = rng.u8(..);
                    }
                    1 => {
                        b.remove(rng.usize(..b.len()));
                    }
                    _ => b.insert(rng.usize(..=b.len()), rng.u8(..)),
                }
            }
            if let Parsed::Head(h, len) = parse(&b) {
                assert!(len <= b.len() && b[..len].ends_with(b"\n"));
                assert!(h.body_len < 100_000, "{:?}", String::from_utf8_lossy(&b));
            }
        }
    }

    #[test]
    fn the_head_is_one_copy_the_buffer_is_not_held() {
        let mut buf = b"GET /v1/models HTTP/1.1\r\nAuthorization: Bearer sk-abc\r\n\r\n".to_vec();
        let (h, _) = head(std::str::from_utf8(&buf).unwrap_or_default());
        buf.fill(b'x');
        assert_eq!(h.parts.headers["authorization"], "Bearer sk-abc");
        assert_eq!(h.parts.uri.path(), "/v1/models");
    }
}
