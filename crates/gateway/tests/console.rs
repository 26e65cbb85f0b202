//! The web console's files on the admin listener: served without the admin
//! token, with their content types, `no-cache` and a strict CSP; the data
//! they call for still needs the token. (The console itself is tested in a
//! browser: `tests/console/`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use http::StatusCode;

fn config(upstream: std::net::SocketAddr, token: Option<&str>) -> String {
    let token = token.map_or(String::new(), |t| format!(", token: \"{t}\""));
    format!(
        "server: {{ watchConfig: false }}\nlog: {{ access: \"off\" }}\nadmin: {{ listen: \"127.0.0.1:0\"{token} }}\nproviders:\n  - {{ id: a, type: openai, baseUrl: \"http://{upstream}\", apiTokens: [\"sk-a\"] }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_without_the_token_and_its_data_is_not() {
    let emu = default_emulator().await;
    let dir = TempDir::new("console");
    let file = dir.file();
    std::fs::write(&file, config(emu.addr, Some("adm-console-0123456789"))).unwrap();
    let gw = gateway_from_file(&file).await;

    for (path, ctype) in [
        ("/", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/providers.js", "text/javascript; charset=utf-8"),
        ("/console/app.css", "text/css; charset=utf-8"),
        ("/console/icon.svg", "image/svg+xml"),
        ("/console/session.json", "application/json"),
    ] {
        let r = send(gw.admin, "GET", path, "", &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.header("content-type"), Some(ctype), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        let csp = r.header("content-security-policy").unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    let page = send(gw.admin, "GET", "/", "", &[]).await.text();
    assert!(
        page.contains("<script defer src=\"/console/app.js\">"),
        "{page}"
    );
    let session = send(gw.admin, "GET", "/console/session.json", "", &[]).await;
    assert_eq!(session.json()["tokenRequired"], true);

    // Nothing else is open: an unknown asset is a 404 of its own, other
    // methods and the data go through the token check.
    let r = send(gw.admin, "GET", "/console/secrets.txt", "", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (method, path) in [
        ("POST", "/"),
        ("GET", "/admin/providers"),
        ("GET", "/consolex"),
    ] {
        let r = send(gw.admin, method, path, "", &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_the_console_skips_its_login() {
    let emu = default_emulator().await;
    let dir = TempDir::new("console-open");
    let file = dir.file();
    std::fs::write(&file, config(emu.addr, None)).unwrap();
    let gw = gateway_from_file(&file).await;
    let session = send(gw.admin, "GET", "/console/session.json", "", &[]).await;
    assert_eq!(session.json()["tokenRequired"], false);
}
