//! The binary as a user runs it: `check-config`, and `serve` with no config
//! answering a chat completion from the built-in demo.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn check_config_summarises_a_good_file() {
    let p = write_config(
        "good.yaml",
        "providers:\n  - { id: ds, type: deepseek, apiTokens: [\"${SWITCHYARD_CLI_TEST_KEY}\"] }\nroutes:\n  - { name: ds, models: [\"deepseek-*\"], provider: ds }\n",
    );
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&p)
        .env("SWITCHYARD_CLI_TEST_KEY", "sk-x")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("OK")
            && stdout.contains("ds (type deepseek, 1 token")
            && stdout.contains("deepseek-* -> ds"),
        "{stdout}"
    );
}

#[test]
fn check_config_lists_every_problem_and_fails() {
    let p = write_config(
        "bad.yaml",
        "providers:\n  - { id: ds, type: deepsek, apiTokens: [k] }\nroutes:\n  - { name: r, provider: nope }\n",
    );
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("2 problems"), "{stderr}");
    assert!(
        stderr.contains("unknown provider type `deepsek`")
            && stderr.contains("no provider has id `nope`"),
        "{stderr}"
    );

    let p = write_config(
        "typo.yaml",
        "providers:\n  - id: ds\n    type: deepseek\n    apiTokenz: [k]\n",
    );
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown field `apiTokenz`") && stderr.contains("line 4"),
        "{stderr}"
    );
}

#[test]
fn serve_without_config_runs_the_demo() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let admin_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let admin = format!("127.0.0.1:{admin_port}");
    let dir = std::env::temp_dir().join(format!("switchyard-cli-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(BIN)
        .args(["--listen", &addr, "--admin-listen", &admin])
        .current_dir(&dir)
        // No provider key variables either (they would start the environment start).
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut banner = String::new();
    while !banner.contains("access log") && Instant::now() < deadline {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        banner.push_str(&line);
    }
    assert!(
        banner.contains(&format!("http://{addr}/v1/chat/completions"))
            && banner.contains(&format!("http://{admin}/metrics")),
        "{banner}"
    );

    let body = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}"#;
    let resp = http(
        &addr,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains("chat.completion") && resp.contains("\"usage\""),
        "{resp}"
    );

    let body =
        r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hello!"}]}"#;
    let resp = http(
        &addr,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(
        resp.contains("text/event-stream")
            && resp.contains("chat.completion.chunk")
            && resp.contains("data: [DONE]"),
        "{resp}"
    );

    let resp = http(
        &addr,
        "GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(resp.contains("\"gpt-4o-mini\""), "{resp}");

    // Metrics on the admin listener; one access-log line per request on stdout.
    let resp = http(
        &admin,
        "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(
        resp.contains(r#"switchyard_requests_total{route="demo",provider="demo",model="gpt-4o-mini",consumer="none",status_class="2xx"} 2"#),
        "{resp}"
    );
    let mut logged = Vec::new();
    while logged.len() < 3 && Instant::now() < deadline {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.starts_with('{') {
            logged.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
        }
    }
    assert_eq!(logged.len(), 3, "{logged:?}");
    assert_eq!(logged[0]["model"], "gpt-4o-mini");
    assert_eq!(logged[1]["response_type"], "stream");
    assert!(logged[1]["output_token"].as_u64().unwrap() > 0);
    assert_eq!(logged[2]["path"], "/v1/models");

    // SIGHUP without a config file: nothing to reload, and the demo runs on.
    signal(&child, "-HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP ended the demo");
    let resp = http(
        &addr,
        "GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn reload_by_sighup_and_by_command_then_sigterm_drains() {
    let mock = free_addr();
    let addr = free_addr();
    let admin = free_addr();
    let mut emulator = Command::new(BIN)
        .args([
            "mock",
            "--listen",
            &mock,
            "--chunk-delay",
            "375ms",
            "--stream-chunks",
            "8",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let config = |routes: &str| {
        format!(
            "server: {{ listen: \"{addr}\", watchConfig: false, shutdownGracePeriod: 5s }}\nadmin: {{ listen: \"{admin}\", token: adm-cli-0123456789 }}\nproviders:\n  - {{ id: a, type: openai, baseUrl: \"http://{mock}\", apiTokens: [\"sk-a\"] }}\nroutes:\n{routes}"
        )
    };
    let alpha = "  - { name: alpha, models: [\"alpha-*\"], provider: a }\n";
    let beta = "  - { name: beta, models: [\"beta-*\"], provider: a }\n";
    let gamma = "  - { name: gamma, models: [\"gamma-*\"], provider: a }\n";
    let file = write_config("reload.yaml", &config(alpha));
    let mut gateway = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&file)
        .env("SWITCHYARD_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(gateway.stderr.take().unwrap());
    let diagnostics = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let d = diagnostics.clone();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            d.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    wait_for(
        "the gateway and the emulator",
        Duration::from_secs(20),
        || TcpStream::connect(&addr).is_ok() && TcpStream::connect(&mock).is_ok(),
    );
    assert!(post_chat(&addr, "alpha-1").starts_with("HTTP/1.1 200"));
    assert!(post_chat(&addr, "beta-1").starts_with("HTTP/1.1 404"));

    // SIGHUP reloads the file.
    std::fs::write(&file, config(&format!("{alpha}{beta}"))).unwrap();
    signal(&gateway, "-HUP");
    wait_for("beta-* served after SIGHUP", Duration::from_secs(5), || {
        post_chat(&addr, "beta-1").starts_with("HTTP/1.1 200")
    });
    assert!(
        diagnostics.lock().unwrap().contains("routes added: beta"),
        "{}",
        diagnostics.lock().unwrap()
    );

    // `switchyard reload` finds the admin address in the file.
    std::fs::write(&file, config(&format!("{alpha}{beta}{gamma}"))).unwrap();
    let out = Command::new(BIN)
        .args(["reload", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("reloaded: version") && stdout.contains("routes added: gamma"),
        "{stdout}"
    );
    assert!(post_chat(&addr, "gamma-1").starts_with("HTTP/1.1 200"));

    // An invalid file: the command fails with every problem, nothing changes.
    std::fs::write(
        &file,
        config("  - { name: delta, provider: nobody }\n").replace("type: openai", "type: opnai"),
    )
    .unwrap();
    // Without the token the admin API refuses, and the command says why.
    let out = Command::new(BIN)
        .args(["reload", "--admin", &admin])
        .env_remove("SWITCHYARD_ADMIN_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs its token: pass --token"), "{err}");
    let out = Command::new(BIN)
        .args(["reload", "--admin", &admin])
        .env("SWITCHYARD_ADMIN_TOKEN", "adm-cli-0123456789")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not reloaded") && err.contains("opnai") && err.contains("nobody"),
        "{err}"
    );
    assert!(post_chat(&addr, "gamma-1").starts_with("HTTP/1.1 200"));

    // SIGTERM with a 3 s stream in flight: it completes; new connections are refused.
    let stream_addr = addr.clone();
    let streaming = std::thread::spawn(move || {
        let body =
            r#"{"model":"alpha-1","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#;
        http(
            &stream_addr,
            &format!(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    signal(&gateway, "-TERM");
    wait_for("new connections refused", Duration::from_secs(2), || {
        TcpStream::connect(&addr).is_err()
    });
    let streamed = streaming.join().unwrap();
    assert!(
        streamed.contains("data: [DONE]") && !streamed.contains("stream_interrupted"),
        "{streamed}"
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = gateway.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "gateway still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut out = String::new();
    gateway
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let streams = out
        .lines()
        .filter(|l| l.contains("\"response_type\":\"stream\"") && l.contains("\"status\":200"))
        .count();
    assert_eq!(streams, 1, "the stream's access-log line: {out}");
    let _ = emulator.kill();
    let _ = emulator.wait();
}

#[cfg(target_os = "linux")]
#[test]
fn server_workers_sets_the_threads_serving_requests() {
    let addr = free_addr();
    let file = write_config(
        "workers.yaml",
        &format!(
            "server: {{ listen: \"{addr}\", workers: 1 }}\nlog: {{ access: \"off\" }}\nproviders:\n  - {{ id: a, type: openai, baseUrl: \"http://127.0.0.1:9\", apiTokens: [\"sk-a\"] }}\n"
        ),
    );
    let mut gateway = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the gateway", Duration::from_secs(20), || {
        TcpStream::connect(&addr).is_ok()
    });
    let workers = std::fs::read_dir(format!("/proc/{}/task", gateway.id()))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim() == "tokio-rt-worker")
        })
        .count();
    let _ = gateway.kill();
    let _ = gateway.wait();
    assert_eq!(workers, 1);
}
