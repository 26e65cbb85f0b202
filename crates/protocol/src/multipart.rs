//! `multipart/form-data` (RFC 7578) bodies, read in place: the gateway
//! needs one text field of an upload (`model`) to route it, and forwards
//! the body itself as it came. Nothing here copies a part; a field is a
//! byte range of the body, and replacing it splices one new body.

use std::ops::Range;

/// Why a body is not a form the gateway can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormError {
    /// The `content-type` is not `multipart/form-data` with a boundary.
    NotMultipart,
    /// The body does not follow the boundary it declares.
    Malformed(&'static str),
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormError::NotMultipart => f.write_str(
                "This endpoint takes a file upload: send the body as `multipart/form-data` with a boundary in the content-type (as the OpenAI SDKs and `curl -F` do).",
            ),
            FormError::Malformed(what) => write!(
                f,
                "The multipart/form-data body is malformed ({what}). Send a well-formed form (as the OpenAI SDKs and `curl -F` do)."
            ),
        }
    }
}

impl std::error::Error for FormError {}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<&str> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        // RFC 2046: 1 to 70 characters.
        (!v.is_empty() && v.len() <= 70).then_some(v)
    })
}

/// The value of the first field named `name` (a byte range of `body`), or
/// `None` when the form has no such field. Parts are skipped by searching
/// for the next delimiter; a file part is never looked into.
pub fn find_field(
    body: &[u8],
    boundary: &str,
    name: &str,
) -> Result<Option<Range<usize>>, FormError> {
    let mut delim = Vec::with_capacity(boundary.len() + 4);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary.as_bytes());
    let first =
        memchr::memmem::find(body, &delim).ok_or(FormError::Malformed("no boundary line"))?;
    // Later delimiters are preceded by CRLF.
    let mut next_delim = Vec::with_capacity(delim.len() + 2);
    next_delim.extend_from_slice(b"\r\n");
    next_delim.extend_from_slice(&delim);
    let finder = memchr::memmem::Finder::new(&next_delim);
    let mut at = first + delim.len();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(None);
        }
        // Transport padding, then CRLF.
        let line_end = memchr::memmem::find(rest, b"\r\n")
            .ok_or(FormError::Malformed("a boundary line does not end"))?;
        let headers_start = at + line_end + 2;
        let head_len = memchr::memmem::find(&body[headers_start..], b"\r\n\r\n")
            .ok_or(FormError::Malformed("a part's headers do not end"))?;
        let headers = &body[headers_start..headers_start + head_len];
        let content_start = headers_start + head_len + 4;
        let content_len = next_delimiter(&finder, &body[content_start..], next_delim.len()).ok_or(
            FormError::Malformed("a part does not end with the boundary"),
        )?;
        let content = content_start..content_start + content_len;
        if field_name(headers) == Some(name.as_bytes()) {
            return Ok(Some(content));
        }
        at = content.end + next_delim.len();
    }
}

/// Where the next delimiter starts in `rest`: `CRLF--boundary` followed
/// by `--` or by optional blanks and CRLF (bytes that merely begin like a
/// delimiter, `--boundary-x`, are content).
fn next_delimiter(finder: &memchr::memmem::Finder<'_>, rest: &[u8], len: usize) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + finder.find(&rest[from..])?;
        let after = &rest[at + len..];
        let blanks = after
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        if after.starts_with(b"--") || after[blanks..].starts_with(b"\r\n") {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The `name` of a part, from its `Content-Disposition: form-data` header.
fn field_name(headers: &[u8]) -> Option<&[u8]> {
    for line in headers.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"content-disposition") {
            continue;
        }
        for param in line[colon + 1..].split(|b| *b == b';') {
            let param = param.trim_ascii();
            let Some(eq) = param.iter().position(|b| *b == b'=') else {
                continue;
            };
            if !param[..eq].trim_ascii().eq_ignore_ascii_case(b"name") {
                continue;
            }
            let v = param[eq + 1..].trim_ascii();
            return Some(
                v.strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(v),
            );
        }
    }
    None
}

/// `body` with the bytes of `range` replaced by `value` (one new body).
pub fn splice(body: &[u8], range: Range<usize>, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() - range.len() + value.len());
    out.extend_from_slice(&body[..range.start]);
    out.extend_from_slice(value);
    out.extend_from_slice(&body[range.end..]);
    out
}

/// `body` with a text field `name` = `value` added as its first part (one
/// new body). A body without a boundary line is returned as it is.
pub fn prepend_field(body: &[u8], boundary: &str, name: &str, value: &str) -> Vec<u8> {
    let delim = format!("--{boundary}");
    let Some(at) = memchr::memmem::find(body, delim.as_bytes()) else {
        return body.to_vec();
    };
    let part =
        format!("{delim}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
    let mut out = Vec::with_capacity(body.len() + part.len());
    out.extend_from_slice(&body[..at]);
    out.extend_from_slice(part.as_bytes());
    out.extend_from_slice(&body[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, file, content) in parts {
            b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(f) => b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: audio/wav\r\n\r\n").as_bytes(),
                ),
                None => b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            b.extend_from_slice(content);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        b
    }

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc123"),
            Some("abc123")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;charset=utf-8; Boundary=\"a b\""),
            Some("a b")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }

    #[test]
    fn finds_a_field_after_a_file() {
        // The file holds something that looks like a field and a near-boundary.
        let audio: &[u8] = b"RIFF\0\0name=\"model\"\r\n--xyz-not\r\n\r\n\xff\xfe";
        let b = form(
            "xyz",
            &[
                ("file", Some("a.wav"), audio),
                ("model", None, b"whisper-1"),
                ("language", None, b"en"),
            ],
        );
        let r = find_field(&b, "xyz", "model").unwrap().unwrap();
        assert_eq!(&b[r.clone()], b"whisper-1");
        assert_eq!(find_field(&b, "xyz", "prompt").unwrap(), None);
        let out = splice(&b, r, b"whisper-large-v3");
        let r2 = find_field(&out, "xyz", "model").unwrap().unwrap();
        assert_eq!(&out[r2], b"whisper-large-v3");
        let f = find_field(&out, "xyz", "file").unwrap().unwrap();
        assert_eq!(&out[f], audio);
    }

    #[test]
    fn a_field_can_be_added() {
        let b = form("b1", &[("image", Some("x.png"), b"\x89PNG")]);
        assert_eq!(find_field(&b, "b1", "model").unwrap(), None);
        let out = prepend_field(&b, "b1", "model", "gpt-image-1");
        let r = find_field(&out, "b1", "model").unwrap().unwrap();
        assert_eq!(&out[r], b"gpt-image-1");
        let f = find_field(&out, "b1", "image").unwrap().unwrap();
        assert_eq!(&out[f], b"\x89PNG");
    }

    #[test]
    fn filename_is_not_the_name() {
        let b = b"--q\r\nContent-Disposition: form-data; filename=\"model\"; name=\"file\"\r\n\r\nx\r\n--q\r\ncontent-disposition: form-data; name=model\r\n\r\nm1\r\n--q--";
        let r = find_field(b, "q", "model").unwrap().unwrap();
        assert_eq!(&b[r], b"m1");
    }

    #[test]
    fn malformed_forms() {
        assert_eq!(
            find_field(b"hello", "q", "model"),
            Err(FormError::Malformed("no boundary line"))
        );
        assert_eq!(
            find_field(
                b"--q\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
                "q",
                "model"
            ),
            Err(FormError::Malformed(
                "a part does not end with the boundary"
            ))
        );
        assert_eq!(
            find_field(b"--q\r\nContent-Disposition: form-data", "q", "model"),
            Err(FormError::Malformed("a part's headers do not end"))
        );
        assert_eq!(find_field(b"--q--\r\n", "q", "model"), Ok(None));
    }
}
