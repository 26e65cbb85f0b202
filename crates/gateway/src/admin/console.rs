//! The web console (`docs/console.md`): one page at `/` and its assets under
//! `/console/`, compiled into the binary. They are served without the admin
//! token (they hold no data); the page asks for the token and sends it with
//! every `/admin/...` call it makes. A strict content security policy keeps
//! everything the page runs to these files: no inline script, no other origin.

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

use crate::body::GatewayBody;
use crate::runtime::Runtime;

/// `(path under /console/, content-type, body)`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("console/app.css"),
    ),
    ("app.js", JS, include_bytes!("console/app.js")),
    ("providers.js", JS, include_bytes!("console/providers.js")),
    ("routes.js", JS, include_bytes!("console/routes.js")),
    ("consumers.js", JS, include_bytes!("console/consumers.js")),
    ("limits.js", JS, include_bytes!("console/limits.js")),
    ("traffic.js", JS, include_bytes!("console/traffic.js")),
    ("requests.js", JS, include_bytes!("console/requests.js")),
    ("playground.js", JS, include_bytes!("console/playground.js")),
    ("boot.js", JS, include_bytes!("console/boot.js")),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("console/icon.svg"),
    ),
];

const JS: &str = "text/javascript; charset=utf-8";

const INDEX: &str = include_str!("console/index.html");

/// Everything the page loads comes from this listener; nothing inline, no
/// frames, no plugins.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(
    status: StatusCode,
    content_type: &'static str,
    body: &'static [u8],
) -> Response<GatewayBody> {
    let mut r = Response::new(GatewayBody::full(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The console's answer for `GET`/`HEAD` of `/` or `/console/...`; `None`
/// for every other request (the admin listener routes it, token checked).
pub fn serve(rt: &Runtime, method: &Method, path: &str) -> Option<Response<GatewayBody>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    if path == "/" || path == "/console" || path == "/console/" {
        return Some(asset(
            StatusCode::OK,
            "text/html; charset=utf-8",
            INDEX.as_bytes(),
        ));
    }
    let name = path.strip_prefix("/console/")?;
    if name == "session.json" {
        // Whether the data calls need the admin token, so the page can skip
        // its login screen when they do not (a loopback listener without one).
        let open = rt
            .snapshot()
            .admin_auth
            .allows("/admin/providers", &HeaderMap::new());
        let body: &'static [u8] = if open {
            br#"{"tokenRequired":false}"#
        } else {
            br#"{"tokenRequired":true}"#
        };
        return Some(asset(StatusCode::OK, "application/json", body));
    }
    Some(match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ct, body)) => asset(StatusCode::OK, ct, body),
        None => asset(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            b"no such console asset\n",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_names_is_served() {
        for (name, _, body) in ASSETS {
            assert!(!body.is_empty(), "{name} is empty");
        }
        // Every script and stylesheet index.html loads is in ASSETS.
        for part in INDEX.split("/console/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(
                ASSETS.iter().any(|(n, _, _)| *n == name),
                "index.html loads /console/{name}, which is not served"
            );
        }
        assert!(!INDEX.contains("<script>"), "no inline script (CSP)");
        assert!(!INDEX.contains("style="), "no inline style (CSP)");
    }
}
