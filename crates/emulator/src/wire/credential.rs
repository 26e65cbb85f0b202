//! Credentials: which header holds the caller's token (bearer, raw, API key
//! headers, or the access key id of an AWS SigV4 signature).

/// The scheme of an AWS Signature Version 4 `Authorization` header.
pub(crate) const SIGV4: &str = "AWS4-HMAC-SHA256";

/// Whether an `Authorization` value is an AWS SigV4 signature.
pub(crate) fn is_sigv4(v: &str) -> bool {
    let v = v.trim_start();
    v.len() > SIGV4.len()
        && v.as_bytes()[..SIGV4.len()].eq_ignore_ascii_case(SIGV4.as_bytes())
        && v.as_bytes()[SIGV4.len()].is_ascii_whitespace()
}

/// The access key id in `AWS4-HMAC-SHA256 Credential=<AKID>/<date>/...`
/// (`""` when there is no `Credential=`). The signature is not verified.
fn sigv4_access_key(v: &str) -> &str {
    let rest = &v.trim_start()[SIGV4.len()..];
    rest.split([',', ' ', '\t'])
        .find_map(|kv| kv.trim().strip_prefix("Credential="))
        .map_or("", |c| c.split('/').next().unwrap_or("").trim())
}

/// Finds the credential with the documented header order. `get` looks a
/// header up by its lowercase name. Empty tokens count as absent. For an AWS
/// SigV4 `Authorization` header the token is the access key id.
pub(crate) fn find_credential<'a>(
    get: impl Fn(&'static str) -> Option<&'a str>,
) -> Option<(&'a str, &'static str)> {
    if let Some(v) = get("authorization") {
        let v = v.trim();
        let token = if v.eq_ignore_ascii_case("bearer") {
            ""
        } else if v.len() >= 7 && v.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
            v[7..].trim_start()
        } else if is_sigv4(v) {
            sigv4_access_key(v)
        } else {
            v
        };
        if !token.is_empty() {
            return Some((token, "authorization"));
        }
    }
    for name in ["api-key", "x-api-key", "x-goog-api-key"] {
        if let Some(v) = get(name) {
            let v = v.trim();
            if !v.is_empty() {
                return Some((v, name));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials() {
        let h = |pairs: &'static [(&'static str, &'static str)]| {
            find_credential(move |n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v))
        };
        assert_eq!(
            h(&[("authorization", "Bearer sk-1")]),
            Some(("sk-1", "authorization"))
        );
        assert_eq!(
            h(&[("authorization", "sk-raw")]),
            Some(("sk-raw", "authorization"))
        );
        assert_eq!(
            h(&[("x-api-key", "k"), ("api-key", "az")]),
            Some(("az", "api-key"))
        );
        assert_eq!(h(&[("x-goog-api-key", "g")]), Some(("g", "x-goog-api-key")));
        assert_eq!(h(&[("authorization", "Bearer ")]), None);
        assert_eq!(h(&[]), None);
        assert_eq!(
            h(&[(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAX/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab"
            )]),
            Some(("AKIAX", "authorization"))
        );
        assert_eq!(
            h(&[(
                "authorization",
                "AWS4-HMAC-SHA256 SignedHeaders=host,Credential=bad-K/d/r/s/aws4_request"
            )]),
            Some(("bad-K", "authorization"))
        );
        // No Credential= in a SigV4 header: fall back to the other headers.
        assert_eq!(
            h(&[
                ("authorization", "AWS4-HMAC-SHA256 Signature=x"),
                ("x-api-key", "k")
            ]),
            Some(("k", "x-api-key"))
        );
        assert!(is_sigv4("AWS4-HMAC-SHA256 Credential=a"));
        assert!(!is_sigv4("AWS4-HMAC-SHA256"));
        assert!(!is_sigv4("Bearer AWS4-HMAC-SHA256 x"));
    }
}
