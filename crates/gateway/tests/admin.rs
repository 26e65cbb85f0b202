//! The admin listener's access: with `admin.token` set every path but the
//! open ones needs `Authorization: Bearer`; a reload rotates the token.
//! Real sockets, a real config file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::*;
use http::StatusCode;

fn config(upstream: SocketAddr, token: &str) -> String {
    format!(
        "server: {{ watchConfig: false }}\nlog: {{ access: \"off\" }}\nadmin: {{ listen: \"127.0.0.1:0\", token: \"{token}\" }}\nproviders:\n  - {{ id: a, type: openai, baseUrl: \"http://{upstream}\", apiTokens: [\"sk-a\"] }}\nroutes:\n  - {{ name: all, provider: a }}\n"
    )
}

async fn get(gw: &TestGateway, path: &str, auth: Option<&str>) -> Reply {
    let header = auth.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = header
        .iter()
        .map(|h| ("authorization", h.as_str()))
        .collect();
    send(gw.admin, "GET", path, "", &headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_guards_all_but_the_open_paths_and_reload_rotates_it() {
    let emu = default_emulator().await;
    let dir = TempDir::new("admin-auth");
    let file = dir.file();
    std::fs::write(&file, config(emu.addr, "adm-first-0123456789")).unwrap();
    let gw = gateway_from_file(&file).await;

    // Liveness and scrapes stay open.
    assert_eq!(get(&gw, "/health", None).await.status, StatusCode::OK);
    assert_eq!(get(&gw, "/metrics", None).await.status, StatusCode::OK);

    // Everything else needs the token, and says how to send it.
    for (path, auth) in [
        ("/status", None),
        ("/admin/reload", None),
        ("/admin/reload", Some("adm-wrong-0123456789")),
        ("/admin/reload", Some("adm-first-012345678")),
    ] {
        let r = get(&gw, path, auth).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} {auth:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let e = r.json();
        assert_eq!(e["error"]["code"], "invalid_admin_token");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Authorization: Bearer"),
            "{e}"
        );
        assert!(!r.text().contains("adm-first"), "{}", r.text());
    }
    // A request without the token changes nothing.
    let r = send(gw.admin, "POST", "/admin/reload", "", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let status = get(&gw, "/admin/reload", Some("adm-first-0123456789")).await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.json()["generation"], 1, "{}", status.text());

    // The client port never takes the admin token.
    let r = post(gw.addr, "/v1/chat/completions", chat("gpt-4o")).await;
    assert_eq!(r.status, StatusCode::OK);

    // A reload with the token rotates it: the old one stops working.
    std::fs::write(&file, config(emu.addr, "adm-second-0123456789")).unwrap();
    let r = send(
        gw.admin,
        "POST",
        "/admin/reload",
        "",
        &[("authorization", "Bearer adm-first-0123456789")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.text().contains("adm-second"), "{}", r.text());
    assert_eq!(r.json()["status"]["generation"], 2, "{}", r.text());
    assert_eq!(
        get(&gw, "/status", Some("adm-first-0123456789"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&gw, "/status", Some("adm-second-0123456789"))
            .await
            .status,
        StatusCode::OK
    );
}
