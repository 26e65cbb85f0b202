//! AWS Signature Version 4 request signing (header form), for Bedrock
//! (service `bedrock`, the provider's region).
//!
//! [`SigV4::sign`] signs `host`, the headers the caller passes (send them
//! unchanged), `x-amz-content-sha256`, `x-amz-date` and, with temporary
//! credentials, `x-amz-security-token`, and returns the headers to add.
//! Caller-supplied `host`, `authorization` and those `x-amz-*` headers are
//! ignored: the signer sets them.
//!
//! Paths: `path` is the request path exactly as it goes on the wire
//! (already percent-encoded). The canonical URI encodes each segment once
//! more, as every AWS service but S3 expects, so a Bedrock model id
//! `us.amazon.nova-micro-v1:0` is sent as `/model/us.amazon.nova-micro-v1%3A0/converse`
//! ([`SigV4::encode_path_segment`]) and signed as `...v1%253A0...`.
//! Sending `:` raw instead also verifies (it is then signed as `%3A`), but
//! some proxies and HTTP stacks rewrite it; use the encoded form.
//! `query` is the raw query string without `?` (empty for Bedrock).

use std::time::{SystemTime, UNIX_EPOCH};

use ring::{digest, hmac};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Credentials and scope. Only borrows: build one per request from the
/// provider's configuration.
#[derive(Clone, Copy)]
pub struct SigV4<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
}

impl std::fmt::Debug for SigV4<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("session_token", &self.session_token.map(|_| "<redacted>"))
            .field("region", &self.region)
            .field("service", &self.service)
            .finish()
    }
}

/// Headers to add to the signed request (`Authorization`, `X-Amz-Date`,
/// `X-Amz-Content-Sha256`, and `X-Amz-Security-Token` when set).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub authorization: String,
    pub x_amz_date: String,
    pub x_amz_content_sha256: String,
    pub x_amz_security_token: Option<String>,
}

impl std::fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("authorization", &self.authorization)
            .field("x_amz_date", &self.x_amz_date)
            .field("x_amz_content_sha256", &self.x_amz_content_sha256)
            .field(
                "x_amz_security_token",
                &self.x_amz_security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Headers the signer owns; the caller's copies are ignored.
fn is_signer_header(name: &str) -> bool {
    [
        "host",
        "authorization",
        "x-amz-date",
        "x-amz-content-sha256",
        "x-amz-security-token",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

impl SigV4<'_> {
    /// Sign a request made at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        method: &str,
        host: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        now: SystemTime,
    ) -> SignedHeaders {
        let amz_date = amz_date(now);
        let payload_hash = hex(digest::digest(&digest::SHA256, body).as_ref());
        let mut all: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(n, _)| !is_signer_header(n))
            .copied()
            .collect();
        all.push(("x-amz-content-sha256", &payload_hash));
        all.push(("x-amz-date", &amz_date));
        if let Some(t) = self.session_token {
            all.push(("x-amz-security-token", t));
        }
        let authorization =
            self.authorization(method, host, path, query, &all, &payload_hash, &amz_date);
        SignedHeaders {
            authorization,
            x_amz_date: amz_date,
            x_amz_content_sha256: payload_hash,
            x_amz_security_token: self.session_token.map(str::to_string),
        }
    }

    /// One path segment URI-encoded the AWS way (everything but
    /// `A-Z a-z 0-9 - _ . ~`, including `/` and `:`), e.g. a model id for
    /// `/model/{id}/converse`.
    pub fn encode_path_segment(segment: &str) -> String {
        uri_encode(segment)
    }

    /// The `Authorization` value for a request whose headers (`host`
    /// excepted, which comes from `host`) are exactly `headers`.
    #[allow(clippy::too_many_arguments)]
    fn authorization(
        &self,
        method: &str,
        host: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        payload_hash: &str,
        amz_date: &str,
    ) -> String {
        let (creq, signed_headers) =
            canonical_request(method, host, path, query, headers, payload_hash);
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex(digest::digest(&digest::SHA256, creq.as_bytes()).as_ref())
        );
        let k_secret = format!("AWS4{}", self.secret_key);
        let k_date = hmac_sha256(k_secret.as_bytes(), date.as_bytes());
        let k_region = hmac_sha256(&k_date, self.region.as_bytes());
        let k_service = hmac_sha256(&k_region, self.service.as_bytes());
        let k_signing = hmac_sha256(&k_service, b"aws4_request");
        let signature = hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()));
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key
        )
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The canonical request and the signed-headers list.
fn canonical_request(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> (String, String) {
    // Lowercased names, trimmed values with inner runs of spaces collapsed,
    // sorted by name (stable: repeated headers keep their order and are
    // joined with commas).
    let mut hs: Vec<(String, String)> = Vec::with_capacity(headers.len() + 1);
    hs.push(("host".to_string(), canonical_value(host)));
    for (n, v) in headers {
        if n.eq_ignore_ascii_case("host") {
            continue;
        }
        hs.push((n.to_ascii_lowercase(), canonical_value(v)));
    }
    hs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::with_capacity(hs.len());
    for (n, v) in hs {
        match merged.last_mut() {
            Some((ln, lv)) if *ln == n => {
                lv.push(',');
                lv.push_str(&v);
            }
            _ => merged.push((n, v)),
        }
    }
    let mut canonical_headers = String::new();
    for (n, v) in &merged {
        canonical_headers.push_str(n);
        canonical_headers.push(':');
        canonical_headers.push_str(v);
        canonical_headers.push('\n');
    }
    let signed_headers = merged
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let creq = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query(query),
    );
    (creq, signed_headers)
}

fn canonical_value(v: &str) -> String {
    v.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// Dot segments removed, then every segment URI-encoded (again).
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s),
        }
    }
    if path.starts_with('/') && out.first().is_none_or(|s| !s.is_empty()) {
        out.insert(0, "");
    }
    if (path.ends_with("/.") || path.ends_with("/..")) && out.last().is_some_and(|s| !s.is_empty())
    {
        out.push("");
    }
    let joined = out
        .iter()
        .map(|s| uri_encode(s))
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        "/".to_string()
    } else {
        joined
    }
}

/// Parameters percent-decoded, re-encoded the AWS way, sorted by name then
/// value.
fn canonical_query(query: &str) -> String {
    let mut params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    params.sort();
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` sequences decoded (invalid ones kept as they are), as UTF-8.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
fn amz_date(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests;
