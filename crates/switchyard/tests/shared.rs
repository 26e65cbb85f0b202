//! Several gateway processes sharing one real redis-server: a token one
//! takes out of rotation gets no live traffic from the others a second
//! later; limits count once across all of them; and when Redis stops,
//! `onError: allow` keeps serving while `deny` answers 503; both count in
//! Redis again once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use switchyard_store::testing::RedisServer;

fn chat_as(addr: &str, key: &str) -> String {
    let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}"#;
    http(
        addr,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn status(reply: &str) -> u16 {
    reply
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {reply:?}"))
}

#[test]
fn three_instances_admit_exactly_one_limit_and_ride_out_a_redis_outage() {
    let mut redis = RedisServer::start();
    let mock = free_addr();
    let mut procs = Procs(vec![
        Command::new(BIN)
            .args(["mock", "--listen", &mock])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ]);
    let admin = free_addr();
    let config = |addr: &str, on_error: &str| {
        let admin = if on_error == "deny" {
            format!("admin: {{ listen: \"{admin}\" }}\n")
        } else {
            String::new()
        };
        format!(
            r#"server: {{ listen: "{addr}", watchConfig: false }}
{admin}
log: {{ access: "off" }}
redis: {{ url: "{}", onError: {on_error}, timeout: 200ms }}
providers:
  - id: p
    type: openai
    baseUrl: "http://{mock}"
    apiTokens: ["sk-good", "sk-flaky"]
    failover: {{ enabled: true, failureThreshold: 1, healthCheckModel: hc-model, healthCheckInterval: 60s }}
    retryOnFailure: {{ enabled: true, maxRetries: 1 }}
consumers:
  - {{ name: team-a, keys: ["sk-team-a"], limits: {{ requestsPerMinute: 30 }} }}
  - {{ name: team-b, keys: ["sk-team-b"], limits: {{ requestsPerMinute: 100000 }} }}
  - {{ name: team-c, keys: ["sk-team-c"], limits: {{ requestsPerMinute: 3 }} }}
"#,
            redis.url()
        )
    };
    let allow: Vec<String> = (0..3).map(|_| free_addr()).collect();
    let deny = free_addr();
    for (i, (addr, mode)) in allow
        .iter()
        .map(|a| (a, "allow"))
        .chain([(&deny, "deny")])
        .enumerate()
    {
        let file = write_config(&format!("shared-{i}.yaml"), &config(addr, mode));
        procs.0.push(
            Command::new(BIN)
                .args(["serve", "--config"])
                .arg(&file)
                .env("SWITCHYARD_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    wait_for("every process listening", Duration::from_secs(20), || {
        allow
            .iter()
            .chain([&deny, &mock])
            .all(|a| std::net::TcpStream::connect(a).is_ok())
    });

    // One provider token fails; the first instance to meet it takes it out
    // of rotation, and a second later no instance sends it live traffic.
    let put = "PUT /_mock/tokens/sk-flaky HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 13\r\n\r\n\"Unavailable\"";
    assert_eq!(status(&http(&mock, put)), 200);
    // Live requests (not health checks) the emulator saw with the token.
    let flaky_seen = || {
        let r = http(
            &mock,
            "GET /_mock/requests HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        );
        let body = r.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let seen: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
        seen.iter()
            .filter(|q| q["credential"] == "sk-flaky" && q["model"] != "hc-model")
            .count()
    };
    wait_for(
        "the first instance meets the failing token",
        Duration::from_secs(10),
        || {
            assert_eq!(
                status(&chat_as(&allow[0], "sk-team-b")),
                200,
                "retried on the good token"
            );
            flaky_seen() > 0
        },
    );
    std::thread::sleep(Duration::from_millis(1_000));
    let clear = "DELETE /_mock/requests HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    assert_eq!(status(&http(&mock, clear)), 200);
    for i in 0..30 {
        let to = if i % 3 == 2 { &deny } else { &allow[1 + i % 2] };
        assert_eq!(status(&chat_as(to, "sk-team-b")), 200);
    }
    assert_eq!(
        flaky_seen(),
        0,
        "another instance sent the out token live traffic"
    );

    // 90 requests spread over the three instances, 9 at a time: exactly 30
    // pass, as one instance would admit.
    let handles: Vec<_> = (0..9)
        .map(|t| {
            let allow = allow.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| status(&chat_as(&allow[(t + i) % 3], "sk-team-a")))
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let codes: Vec<u16> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(codes.len(), 90);
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 30, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 429).count(), 60, "{codes:?}");

    // Redis stops: allow keeps serving (counting locally), deny answers 503.
    redis.stop();
    for a in &allow {
        assert_eq!(
            status(&chat_as(a, "sk-team-b")),
            200,
            "allow serves through the outage"
        );
    }
    let refused = chat_as(&deny, "sk-team-b");
    assert_eq!(status(&refused), 503, "{refused}");
    assert!(refused.contains("limiter_unavailable"), "{refused}");
    let models = http(
        &deny,
        "GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer sk-team-b\r\n\r\n",
    );
    assert_eq!(
        status(&models),
        200,
        "what no limit applies to needs no Redis"
    );
    let metrics = http(
        &admin,
        "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(
        metrics.contains("switchyard_store_errors_total{store=\"redis\",op=\"check\"}"),
        "{metrics}"
    );

    // Redis is back (empty): both modes count in Redis again within 5 s.
    redis.restart();
    wait_for("deny serves again", Duration::from_secs(5), || {
        status(&chat_as(&deny, "sk-team-b")) == 200
    });
    // Each instance probes Redis at most every 500 ms while it is down;
    // traffic through each for a second brings all of them back on it.
    let back = std::time::Instant::now() + Duration::from_millis(1_500);
    while std::time::Instant::now() < back {
        for a in &allow {
            assert_eq!(status(&chat_as(a, "sk-team-b")), 200);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // team-c's 3 per minute are one shared window again: one request
    // through each instance, then the fourth is refused.
    let mut codes: Vec<u16> = allow
        .iter()
        .map(|a| status(&chat_as(a, "sk-team-c")))
        .collect();
    codes.push(status(&chat_as(&allow[0], "sk-team-c")));
    assert_eq!(codes, [200, 200, 200, 429], "one shared window of 3");
}
