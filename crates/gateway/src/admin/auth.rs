//! Who may use the admin listener. With `admin.token` set, every path but
//! the open ones (`admin.openPaths`, default `/health`, `/healthz` and
//! `/metrics`) needs `Authorization: Bearer <token>`; the token is held as
//! a SHA-256 digest and compared digest to digest in constant time.
//! Without a token, configuration validation keeps the listener on a
//! loopback address.

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// The admin token's digest and the paths open without it.
#[derive(Clone)]
pub struct AdminAuth {
    digest: Option<[u8; 32]>,
    open: Vec<String>,
}

/// No token or digest in `Debug`.
impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAuth")
            .field("token", &self.digest.map(|_| "***"))
            .field("open", &self.open)
            .finish()
    }
}

fn digest(b: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, b);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl AdminAuth {
    pub fn new(token: Option<&str>, open: &[String]) -> Self {
        AdminAuth {
            digest: token
                .filter(|t| !t.is_empty())
                .map(|t| digest(t.as_bytes())),
            open: open.to_vec(),
        }
    }

    /// Whether a request for `path` with `headers` may go on.
    pub fn allows(&self, path: &str, headers: &HeaderMap) -> bool {
        let Some(want) = &self.digest else {
            return true;
        };
        if self.open.iter().any(|p| p == path) {
            return true;
        }
        let Some(v) = headers.get(AUTHORIZATION) else {
            return false;
        };
        let b = v.as_bytes();
        let token = match b.get(..7) {
            Some(p) if p.eq_ignore_ascii_case(b"bearer ") => b[7..].trim_ascii(),
            _ => return false,
        };
        // Every byte compared, whatever differs first.
        let got = digest(token);
        got.iter().zip(want).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_the_token_opens_what_is_not_open() {
        let open = vec!["/health".to_string(), "/metrics".to_string()];
        let a = AdminAuth::new(Some("adm-secret-1"), &open);
        assert!(a.allows("/health", &with(None)));
        assert!(a.allows("/metrics", &with(None)));
        assert!(!a.allows("/admin/reload", &with(None)));
        assert!(!a.allows("/admin/reload", &with(Some("Bearer adm-secret-2"))));
        assert!(!a.allows("/admin/reload", &with(Some("adm-secret-1"))));
        assert!(a.allows("/admin/reload", &with(Some("Bearer adm-secret-1"))));
        assert!(a.allows("/status", &with(Some("bearer  adm-secret-1 "))));
        assert!(!format!("{a:?}").contains("adm-secret"));
        // No token: nothing is closed (the listener is kept on loopback).
        assert!(AdminAuth::new(None, &open).allows("/admin/reload", &with(None)));
    }
}
