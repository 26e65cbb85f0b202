//! Message heads: the request head as written to the provider, and the
//! response head parsed (with `httparse`) from the connection's read
//! buffer, with what it says about the body's framing and the
//! connection's reuse. No I/O here.

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use super::Error;
use super::framing::Framing;
use crate::http1::header_line;

/// A response head over this many bytes is refused.
pub const MAX_HEAD: usize = 64 * 1024;
/// A response with more headers than this is refused.
pub const MAX_HEADERS: usize = 128;

/// Write the head of `parts` (origin-form target, `HTTP/1.1`, its headers,
/// `Host` when it has none, `Content-Length` for a body of `body_len`).
pub fn encode_request(parts: &Parts, body_len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(if target.is_empty() {
        b"/"
    } else {
        target.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !parts.headers.contains_key(HOST)
        && let Some(a) = parts.uri.authority()
    {
        header_line(out, b"host", a.as_str().as_bytes());
    }
    for (name, value) in &parts.headers {
        // The length is ours to say: the body is sent whole, never chunked.
        if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
            header_line(out, name.as_str().as_bytes(), value.as_bytes());
        }
    }
    if body_len > 0 || !matches!(parts.method, Method::GET | Method::HEAD | Method::DELETE) {
        header_line(
            out,
            b"content-length",
            itoa::Buffer::new().format(body_len).as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
}

/// A response head, parsed.
#[derive(Debug)]
pub struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// The connection may carry another request once this body is read.
    pub keep_alive: bool,
}

/// Parse the response head at the start of `buf`, consuming it and any
/// interim (1xx) heads before it. `Ok(None)`: not complete yet, read more.
/// `head_request`: the request was HEAD (the answer has no body).
pub fn parse_response(buf: &mut BytesMut, head_request: bool) -> Result<Option<Head>, Error> {
    loop {
        // Uninitialised slots: nothing to zero on every parse.
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut res, buf, &mut slots);
        let len = match parsed {
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(Error::HeadTooLarge);
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Ok(httparse::Status::Complete(len)) => len,
            Err(httparse::Error::TooManyHeaders) => return Err(Error::TooManyHeaders),
            Err(e) => return Err(Error::NotHttp(e.to_string())),
        };
        if len > MAX_HEAD {
            return Err(Error::HeadTooLarge);
        }
        let code = res.code.unwrap_or_default();
        let status = StatusCode::from_u16(code)
            .map_err(|_| Error::NotHttp(format!("status code {code}")))?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(Error::Head(
                "it switched protocols (101) though none was asked for".into(),
            ));
        }
        if status.is_informational() {
            // 100 Continue, 103 Early Hints: the real answer follows.
            buf.advance(len);
            continue;
        }
        let version = if res.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        // Where each name and value lies, to build the map from the head's
        // own bytes (shared, not copied) once the parser lets go of them.
        let base = buf.as_ptr() as usize;
        let span = |s: &[u8]| {
            // An empty value need not point into the buffer.
            let start = (s.as_ptr() as usize)
                .checked_sub(base)
                .filter(|_| !s.is_empty());
            start.map_or((0, 0), |a| (a, a + s.len()))
        };
        let mut spans = [((0, 0), (0, 0)); MAX_HEADERS];
        let count = res.headers.len();
        for (slot, h) in spans.iter_mut().zip(res.headers.iter()) {
            *slot = (span(h.name.as_bytes()), span(h.value));
        }
        let raw = buf.split_to(len).freeze();
        // Room for the headers the gateway adds to the answer (its request
        // id, the provider's id renamed, the overhead, the model, limits):
        // the map is not grown on the way to the client.
        let mut headers = HeaderMap::with_capacity(count + ADDED_HEADERS);
        // By reference: `into_iter` would move the whole array (3 KiB).
        for &((n0, n1), (v0, v1)) in spans.iter().take(count) {
            let name = raw
                .get(n0..n1)
                .and_then(|n| known_name(n).or_else(|| HeaderName::from_bytes(n).ok()))
                .ok_or_else(|| Error::Head("a header name is invalid".into()))?;
            let value = match raw.get(v0..v1) {
                Some(_) => HeaderValue::from_maybe_shared(raw.slice(v0..v1)),
                None => HeaderValue::from_bytes(b""),
            }
            .map_err(|_| Error::Head(format!("the value of `{name}` is invalid")))?;
            headers.append(name, value);
        }
        let (framing, reusable) = framing(status, head_request, &headers)?;
        let keep_alive = reusable && crate::http1::persistent(version, &headers);
        return Ok(Some(Head {
            status,
            version,
            headers,
            framing,
            keep_alive,
        }));
    }
}

/// Headers the gateway may add to an answer before it goes to the client.
const ADDED_HEADERS: usize = 8;

/// Provider headers that are not among `http`'s standard names, which
/// `HeaderName::from_bytes` would copy for every answer: the same names,
/// shared.
static KNOWN: [HeaderName; 16] = [
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("request-id"),
    HeaderName::from_static("openai-processing-ms"),
    HeaderName::from_static("openai-organization"),
    HeaderName::from_static("openai-version"),
    HeaderName::from_static("openai-project"),
    HeaderName::from_static("x-ratelimit-limit-requests"),
    HeaderName::from_static("x-ratelimit-limit-tokens"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-remaining-tokens"),
    HeaderName::from_static("x-ratelimit-reset-requests"),
    HeaderName::from_static("x-ratelimit-reset-tokens"),
    HeaderName::from_static("x-envoy-upstream-service-time"),
    HeaderName::from_static("cf-ray"),
    HeaderName::from_static("cf-cache-status"),
    HeaderName::from_static("x-amzn-requestid"),
];

fn known_name(raw: &[u8]) -> Option<HeaderName> {
    KNOWN
        .iter()
        .find(|k| k.as_str().len() == raw.len() && k.as_str().as_bytes().eq_ignore_ascii_case(raw))
        .cloned()
}

/// How the body is delimited (RFC 9112 §6.3), and whether the framing
/// allows reuse of the connection afterwards.
fn framing(
    status: StatusCode,
    head_request: bool,
    headers: &HeaderMap,
) -> Result<(Framing, bool), Error> {
    if head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok((Framing::Empty, true));
    }
    let has_length = headers.contains_key(CONTENT_LENGTH);
    if let Some(last) = headers.get_all(TRANSFER_ENCODING).iter().next_back() {
        let chunked = last
            .as_bytes()
            .rsplit(|&b| b == b',')
            .next()
            .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        // Both lengths given: chunked wins, and the connection is not
        // trusted with another request (RFC 9112 §6.3, item 3).
        return Ok(if chunked {
            (Framing::Chunked, !has_length)
        } else {
            (Framing::Close, false)
        });
    }
    let length = crate::http1::content_length(headers)
        .map_err(|bad| Error::Head(format!("its Content-Length `{}` is invalid", bad.0)))?;
    Ok(match length {
        Some(0) => (Framing::Empty, true),
        Some(n) => (Framing::Length(n), true),
        None => (Framing::Close, false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Option<Head>, Error> {
        parse_response(&mut BytesMut::from(bytes), false)
    }

    fn head(bytes: &[u8]) -> Head {
        parse(bytes).unwrap().unwrap()
    }

    #[test]
    fn request_head_is_origin_form_with_host_and_length() {
        let req = http::Request::post("http://127.0.0.1:8080/v1/chat?x=1")
            .header("content-type", "application/json")
            .header("content-length", "999")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let mut out = Vec::new();
        encode_request(&parts, 12, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /v1/chat?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\
             content-type: application/json\r\ncontent-length: 12\r\n\r\n"
        );
    }

    #[test]
    fn request_head_keeps_a_given_host_and_sends_no_length_for_a_bare_get() {
        let req = http::Request::get("http://10.0.0.1/v1/models")
            .header("host", "models.internal")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let mut out = Vec::new();
        encode_request(&parts, 0, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /v1/models HTTP/1.1\r\nhost: models.internal\r\n\r\n"
        );
    }

    #[test]
    fn known_provider_header_names_match_in_any_case() {
        let h = head(
            b"HTTP/1.1 200 OK\r\nX-Request-Id: req_1\r\nOpenAI-Processing-Ms: 12\r\n\
              x-ratelimit-remaining-tokens: 99\r\nX-Other: 1\r\ncontent-length: 0\r\n\r\n",
        );
        assert_eq!(h.headers["x-request-id"], "req_1");
        assert_eq!(h.headers["openai-processing-ms"], "12");
        assert_eq!(h.headers["x-ratelimit-remaining-tokens"], "99");
        assert_eq!(h.headers["x-other"], "1");
        assert_eq!(
            known_name(b"X-REQUEST-ID").unwrap().as_str(),
            "x-request-id"
        );
        assert!(known_name(b"x-request-idx").is_none());
        for k in &KNOWN {
            assert_eq!(HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(), *k);
        }
    }

    #[test]
    fn response_head_is_parsed_and_consumed() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-A: 1\r\nx-a: 2\r\nX-Empty:\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"[..],
        );
        let h = parse_response(&mut buf, false).unwrap().unwrap();
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(h.version, Version::HTTP_11);
        assert_eq!(h.headers["content-type"], "text/event-stream");
        assert_eq!(h.headers.get_all("x-a").iter().count(), 2);
        assert_eq!(h.headers["x-empty"], "");
        assert_eq!(h.framing, Framing::Chunked);
        assert!(h.keep_alive);
        assert_eq!(&buf[..], b"5\r\nhello", "the body stays in the buffer");
    }

    #[test]
    fn a_partial_head_asks_for_more_at_every_cut() {
        let full = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n";
        for i in 0..full.len() {
            let mut buf = BytesMut::from(&full[..i]);
            assert!(
                parse_response(&mut buf, false).unwrap().is_none(),
                "cut at {i}"
            );
            assert_eq!(buf.len(), i, "nothing consumed");
        }
        let h = head(full);
        assert_eq!(h.status, StatusCode::NOT_FOUND);
        assert_eq!(h.framing, Framing::Length(2));
    }

    #[test]
    fn interim_responses_are_skipped() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"[..],
        );
        let h = parse_response(&mut buf, false).unwrap().unwrap();
        assert_eq!(h.status, StatusCode::CREATED);
        assert!(!h.headers.contains_key("link"));
        assert!(buf.is_empty());
        // An interim head alone: consumed, the answer still to come.
        let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2"[..]);
        assert!(parse_response(&mut buf, false).unwrap().is_none());
        assert_eq!(&buf[..], b"HTTP/1.1 2");
    }

    #[test]
    fn a_head_over_64_kib_is_refused() {
        let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
        let filler = format!("x-filler: {}\r\n", "a".repeat(1000));
        while big.len() <= MAX_HEAD {
            big.extend_from_slice(filler.as_bytes());
        }
        let e = parse(&big).unwrap_err();
        assert_eq!(e.to_string(), "the provider's response head is over 64 KiB");
        // Also when complete but too long.
        big.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&big), Err(Error::HeadTooLarge)));
    }

    #[test]
    fn not_http_is_said_so() {
        let e = parse(b"SSH-2.0-OpenSSH_9.6\r\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the provider's response is not HTTP/1.x: "),
            "{e}"
        );
    }

    #[test]
    fn keep_alive_rules() {
        assert!(head(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n").keep_alive);
        assert!(
            !head(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\n").keep_alive
        );
        assert!(
            !head(b"HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\ncontent-length: 1\r\n\r\n")
                .keep_alive
        );
        assert!(!head(b"HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n").keep_alive);
        let h = head(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 1\r\n\r\n");
        assert!(h.keep_alive);
        assert_eq!(h.version, Version::HTTP_10);
        // Close-delimited: the end is the close.
        let h = head(b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(h.framing, Framing::Close);
        assert!(!h.keep_alive);
        // Both lengths: chunked wins, no reuse.
        let h = head(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n");
        assert_eq!(h.framing, Framing::Chunked);
        assert!(!h.keep_alive);
    }

    #[test]
    fn bodiless_answers() {
        assert_eq!(
            head(b"HTTP/1.1 204 No Content\r\n\r\n").framing,
            Framing::Empty
        );
        assert!(head(b"HTTP/1.1 204 No Content\r\n\r\n").keep_alive);
        assert_eq!(
            head(b"HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n").framing,
            Framing::Empty
        );
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n"[..]);
        let h = parse_response(&mut buf, true).unwrap().unwrap();
        assert_eq!(h.framing, Framing::Empty, "the answer to HEAD has no body");
    }

    #[test]
    fn content_length_must_be_one_number() {
        assert_eq!(
            head(b"HTTP/1.1 200 OK\r\ncontent-length: 7, 7\r\n\r\n").framing,
            Framing::Length(7)
        );
        for bad in [&b"x"[..], b"-1", b"1, 2", b"", b"+3"] {
            let mut h = b"HTTP/1.1 200 OK\r\ncontent-length: ".to_vec();
            h.extend_from_slice(bad);
            h.extend_from_slice(b"\r\n\r\n");
            let e = parse(&h).unwrap_err();
            assert!(e.to_string().contains("Content-Length"), "{e}");
        }
    }
}
