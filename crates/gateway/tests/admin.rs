//! The admin listener's access: with `admin.token` set every path but the
//! open ones needs `Authorization: Bearer`; a reload rotates the token.
//! Real sockets, a real config file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

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

/// Every admin answer a test saw, to check no secret ever shows whole.
#[derive(Default)]
struct Seen(String);

impl Seen {
    async fn call(
        &mut self,
        gw: &TestGateway,
        method: &str,
        path: &str,
        body: serde_json::Value,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut headers = vec![
            ("authorization", "Bearer adm-api-0123456789"),
            ("content-type", "application/json"),
        ];
        headers.extend_from_slice(extra);
        let body = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        let r = send(gw.admin, method, path, body, &headers).await;
        self.0.push_str(&r.text());
        for (_, v) in r.headers.iter() {
            self.0.push_str(v.to_str().unwrap_or(""));
        }
        r
    }
}

async fn chat_status(gw: &TestGateway, model: &str, key: Option<&str>) -> StatusCode {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(
        gw.addr,
        "POST",
        "/v1/chat/completions",
        serde_json::to_vec(&chat(model)).unwrap(),
        &headers,
    )
    .await
    .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_edits_every_resource_live_and_in_the_file() {
    use serde_json::json;
    let emu = default_emulator().await;
    let dir = TempDir::new("admin-api");
    let file = dir.file();
    let text = format!(
        "# written by hand\nserver: {{ watchConfig: false }}\nlog: {{ access: \"off\" }}\nadmin: {{ listen: \"127.0.0.1:0\", token: \"adm-api-0123456789\" }}\nproviders:\n  - {{ id: a, type: openai, baseUrl: \"http://{}\", apiTokens: [\"sk-a-secret-000001\"] }}\nroutes:\n  - {{ name: ra, models: [\"gpt-*\"], provider: a }}\n",
        emu.addr
    );
    std::fs::write(&file, &text).unwrap();
    let gw = gateway_from_file(&file).await;
    let mut seen = Seen::default();
    let on_disk = || std::fs::read_to_string(&file).unwrap();

    // Without the token: 401, whatever the resource.
    for path in [
        "/admin/providers",
        "/admin/config",
        "/admin/credentials",
        "/admin/requests",
    ] {
        assert_eq!(
            send(gw.admin, "GET", path, "", &[]).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }

    // Providers: create, read (masked), and it serves at once.
    let r = seen
        .call(&gw, "POST", "/admin/providers", json!({"id": "b", "type": "openai", "baseUrl": format!("http://{}", emu.addr), "apiTokens": ["sk-b-secret-000002"]}), &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.header("location"), Some("/admin/providers/b"));
    assert_eq!(r.json()["data"]["apiTokens"], json!(["sk-…0002"]));
    assert_eq!(r.json()["persisted"], true);
    assert!(on_disk().contains("sk-b-secret-000002"));
    assert!(dir.0.join("switchyard.yaml.bak").exists());
    let list = seen
        .call(&gw, "GET", "/admin/providers", json!(null), &[])
        .await
        .json();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let r = seen
        .call(
            &gw,
            "POST",
            "/admin/providers",
            json!({"id": "b", "type": "openai"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["code"], "already_exists");

    // Routes: create with a fallback, then replace; each serves at once.
    assert_eq!(chat_status(&gw, "b-1", None).await, StatusCode::NOT_FOUND);
    let r = seen
        .call(&gw, "POST", "/admin/routes", json!({"name": "rb", "models": ["b-*"], "provider": "b", "fallback": {"targets": [{"provider": "a", "model": "gpt-4o"}]}}), &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(
        r.json()["changes"][0]
            .as_str()
            .unwrap()
            .contains("routes added: rb")
    );
    assert_eq!(chat_status(&gw, "b-1", None).await, StatusCode::OK);
    let r = seen
        .call(
            &gw,
            "PUT",
            "/admin/routes/rb",
            json!({"models": ["bee-*"], "provider": "b"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["data"]["name"], "rb");
    assert_eq!(chat_status(&gw, "b-1", None).await, StatusCode::NOT_FOUND);
    assert_eq!(chat_status(&gw, "bee-1", None).await, StatusCode::OK);
    assert!(on_disk().contains("bee-*"));

    // Tokens one at a time; a PUT that sends them back masked keeps them.
    let r = seen
        .call(
            &gw,
            "POST",
            "/admin/providers/b/tokens",
            json!({"token": "sk-b-secret-000003"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        r.json()["data"]["apiTokens"],
        json!(["sk-…0002", "sk-…0003"])
    );
    let r = seen
        .call(
            &gw,
            "DELETE",
            "/admin/providers/b/tokens/0",
            json!(null),
            &[],
        )
        .await;
    assert_eq!(
        r.json()["data"]["apiTokens"],
        json!(["sk-…0003"]),
        "{}",
        r.text()
    );
    let mut b = seen
        .call(&gw, "GET", "/admin/providers/b", json!(null), &[])
        .await
        .json();
    b["timeout"] = json!("90s");
    let r = seen.call(&gw, "PUT", "/admin/providers/b", b, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let disk = on_disk();
    assert!(
        disk.contains("sk-b-secret-000003") && !disk.contains("sk-b-secret-000002"),
        "{disk}"
    );
    assert_eq!(chat_status(&gw, "bee-1", None).await, StatusCode::OK);

    // Consumers: a key made once; from then on the gateway asks for it.
    let r = seen
        .call(
            &gw,
            "POST",
            "/admin/consumers",
            json!({"name": "team", "models": ["bee-*", "gpt-*"]}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let first = r.json()["data"]["key"].as_str().unwrap().to_string();
    let r = seen
        .call(&gw, "POST", "/admin/consumers/team/keys", json!(null), &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let key = r.json()["data"]["key"].as_str().unwrap().to_string();
    assert_eq!(
        chat_status(&gw, "bee-1", Some(&first)).await,
        StatusCode::OK
    );
    let r = seen
        .call(
            &gw,
            "DELETE",
            "/admin/consumers/team/keys/0",
            json!(null),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        chat_status(&gw, "bee-1", Some(&first)).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(key.starts_with("sy-"));
    assert!(!on_disk().contains(&key), "the file keeps only the digest");
    assert_eq!(
        chat_status(&gw, "bee-1", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(chat_status(&gw, "bee-1", Some(&key)).await, StatusCode::OK);
    let c = seen
        .call(&gw, "GET", "/admin/consumers/team", json!(null), &[])
        .await
        .json();
    assert!(
        c["keys"][0].as_str().unwrap().starts_with("sha256:…"),
        "{c}"
    );

    // Rate limits: one request a minute per address, then none.
    let r = seen
        .call(
            &gw,
            "POST",
            "/admin/rateLimits",
            json!({"name": "per-ip", "by": "ip", "requestsPerMinute": 1}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(chat_status(&gw, "bee-1", Some(&key)).await, StatusCode::OK);
    assert_eq!(
        chat_status(&gw, "bee-1", Some(&key)).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let r = seen
        .call(
            &gw,
            "PUT",
            "/admin/rateLimits/per-ip",
            json!({"by": "ip", "requestsPerMinute": 100}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        seen.call(&gw, "GET", "/admin/rateLimits/per-ip", json!(null), &[])
            .await
            .json()["requestsPerMinute"],
        100
    );
    let r = seen
        .call(&gw, "DELETE", "/admin/rateLimits/per-ip", json!(null), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!on_disk().contains("per-ip"));

    // An invalid change: 400 naming the field, nothing changed.
    let before = on_disk();
    let etag = seen
        .call(&gw, "GET", "/admin/config", json!(null), &[])
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let r = seen
        .call(
            &gw,
            "POST",
            "/admin/routes",
            json!({"name": "bad", "provider": "nobody"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let e = r.json();
    assert_eq!(e["error"]["code"], "invalid_config");
    assert!(
        e["error"]["problems"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("routes[2]"),
        "{e}"
    );
    assert!(
        e["error"]["message"].as_str().unwrap().contains("nobody"),
        "{e}"
    );
    let r = seen
        .call(&gw, "DELETE", "/admin/providers/a", json!(null), &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a route still uses a: {}",
        r.text()
    );
    assert_eq!(on_disk(), before);
    assert_eq!(
        seen.call(&gw, "GET", "/admin/config", json!(null), &[])
            .await
            .header("etag"),
        Some(etag.as_str())
    );
    // A dry run says what would change and changes nothing.
    let r = seen
        .call(
            &gw,
            "DELETE",
            "/admin/routes/rb?dryRun=true",
            json!(null),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["changes"], json!(["routes removed: rb"]));
    assert_eq!(chat_status(&gw, "bee-1", Some(&key)).await, StatusCode::OK);

    // The whole document: a stale If-Match is refused.
    let yaml = seen
        .call(&gw, "GET", "/admin/config", json!(null), &[])
        .await
        .text();
    assert!(
        yaml.contains("sk-…0003") && !yaml.contains("sk-b-secret"),
        "{yaml}"
    );
    seen.call(&gw, "DELETE", "/admin/consumers/team", json!(null), &[])
        .await;
    assert_eq!(chat_status(&gw, "bee-1", None).await, StatusCode::OK);
    let edited = yaml.replace("90s", "80s");
    let put = |etag: String, body: String| {
        let admin = gw.admin;
        async move {
            send(
                admin,
                "PUT",
                "/admin/config",
                body,
                &[
                    ("authorization", "Bearer adm-api-0123456789"),
                    ("content-type", "application/yaml"),
                    ("if-match", etag.as_str()),
                ],
            )
            .await
        }
    };
    let r = put(etag.clone(), edited.clone()).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "precondition_failed");
    let fresh = seen
        .call(&gw, "GET", "/admin/config", json!(null), &[])
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let edited = seen
        .call(&gw, "GET", "/admin/config", json!(null), &[])
        .await
        .text()
        .replace("90s", "80s");
    let r = put(fresh, edited).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let disk = on_disk();
    assert!(
        disk.contains("80s") && disk.contains("sk-b-secret-000003"),
        "{disk}"
    );
    let v = seen
        .call(
            &gw,
            "POST",
            "/admin/config/validate",
            json!({"providers": [{"id": "x", "type": "nope"}]}),
            &[],
        )
        .await
        .json();
    assert_eq!(v["valid"], false, "{v}");
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{v}"
    );

    // What the gateway saw.
    let creds = seen
        .call(&gw, "GET", "/admin/credentials", json!(null), &[])
        .await
        .json();
    assert_eq!(creds["data"].as_array().unwrap().len(), 2, "{creds}");
    assert_eq!(creds["data"][1]["provider"], "b");
    assert_eq!(creds["data"][1]["state"], "healthy");
    wait_until(Duration::from_secs(5), "requests recorded", || async {
        send(
            gw.admin,
            "GET",
            "/admin/requests?limit=3",
            "",
            &[("authorization", "Bearer adm-api-0123456789")],
        )
        .await
        .json()["data"]
            .as_array()
            .is_some_and(|d| d.len() == 3)
    })
    .await;
    let reqs = seen
        .call(&gw, "GET", "/admin/requests?limit=3", json!(null), &[])
        .await
        .json();
    assert_eq!(reqs["data"][0]["status"], 200, "{reqs}");
    assert_eq!(reqs["data"][0]["route"], "rb", "{reqs}");
    let traffic = seen
        .call(&gw, "GET", "/admin/traffic", json!(null), &[])
        .await
        .json();
    let minutes = traffic["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 60);
    let total: u64 = minutes
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    assert!(total >= 10, "{traffic}");

    // No secret ever came back whole.
    for secret in [
        "sk-a-secret-000001",
        "sk-b-secret-000002",
        "sk-b-secret-000003",
        "adm-api-0123456789",
    ] {
        assert!(!seen.0.contains(secret), "{secret} shown");
    }
    for k in [&first, &key] {
        assert_eq!(
            seen.0.matches(k.as_str()).count(),
            1,
            "a new key is shown once, when made"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_streams_through_the_pipeline_with_the_admin_token_only() {
    let emu = default_emulator().await;
    let dir = TempDir::new("admin-playground");
    let file = dir.file();
    std::fs::write(&file, config(emu.addr, "adm-play-0123456789")).unwrap();
    let gw = gateway_from_file(&file).await;
    let body = serde_json::to_vec(&chat_stream("gpt-4o")).unwrap();
    let path = "/admin/playground/v1/chat/completions";
    let r = send(
        gw.admin,
        "POST",
        path,
        body.clone(),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        gw.admin,
        "POST",
        path,
        body,
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer adm-play-0123456789"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let events = sse_data(&r.body);
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    assert!(events.len() > 2, "{events:?}");
    // It was served like any request: it is in the recent records.
    wait_until(
        Duration::from_secs(5),
        "the playground request recorded",
        || async {
            send(
                gw.admin,
                "GET",
                "/admin/requests",
                "",
                &[("authorization", "Bearer adm-play-0123456789")],
            )
            .await
            .json()["data"][0]["path"]
                == "/v1/chat/completions"
        },
    )
    .await;
}
