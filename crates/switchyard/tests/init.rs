//! First start: `switchyard init` at a terminal (a pseudo-terminal here),
//! without one (environment references), and `switchyard` with no file but
//! provider keys in the environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fresh, empty directory for one test.
fn empty_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-init-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The word after `label` in `text`.
fn word_after<'a>(text: &'a str, label: &str) -> &'a str {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        + label.len();
    text[at..].split_whitespace().next().unwrap()
}

/// A request with a read deadline; `None` if no answer came in time.
fn try_http(addr: &str, request: &str, limit: Duration) -> Option<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn post(addr: &str, path: &str, body: &str, extra: &str) -> String {
    http(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn get(addr: &str, path: &str, extra: &str) -> String {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{extra}\r\n"),
    )
}

/// Collects a child's output on a thread.
fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

/// `switchyard init` at a pseudo-terminal: what it shows, the keyboard,
/// and the terminal (kept open to read its settings afterwards).
struct AtTerminal {
    child: Procs,
    screen: Arc<Mutex<Vec<u8>>>,
    keyboard: std::fs::File,
    terminal: std::os::fd::OwnedFd,
}

impl AtTerminal {
    fn start(dir: &Path, args: &[&str]) -> AtTerminal {
        use std::os::fd::{FromRawFd, OwnedFd};
        let (mut master_fd, mut slave_fd) = (-1, -1);
        // SAFETY: valid out-pointers; null name, settings and size.
        let rc = unsafe {
            libc::openpty(
                &mut master_fd,
                &mut slave_fd,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two open descriptors we now own.
        let (master, slave) = unsafe {
            (
                OwnedFd::from_raw_fd(master_fd),
                OwnedFd::from_raw_fd(slave_fd),
            )
        };
        let child = {
            let mut cmd = Command::new(BIN);
            cmd.arg("init")
                .args(args)
                .current_dir(dir)
                .env_clear()
                .stdin(Stdio::from(slave.try_clone().unwrap()))
                .stdout(Stdio::from(slave.try_clone().unwrap()))
                .stderr(Stdio::from(slave.try_clone().unwrap()));
            // Its own session, with the pty as controlling terminal (as a
            // shell would give it), so Ctrl-C there sends SIGINT.
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                    if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            cmd.spawn().unwrap()
        };
        AtTerminal {
            child: Procs(vec![child]),
            screen: collect(std::fs::File::from(master.try_clone().unwrap())),
            keyboard: std::fs::File::from(master),
            terminal: slave,
        }
    }

    fn echo_on(&self) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: termios is plain data; tcgetattr fills it from our pty descriptor.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::tcgetattr(self.terminal.as_raw_fd(), &mut t) },
            0
        );
        t.c_lflag & libc::ECHO != 0
    }
}

#[test]
fn init_interrupted_at_a_terminal_restores_echo_and_writes_nothing() {
    let dir = empty_dir("ctrlc");
    let mut t = AtTerminal::start(&dir, &[]);
    wait_for("the first prompt", Duration::from_secs(20), || {
        text(&t.screen).contains("Enter to skip): ")
    });
    std::thread::sleep(Duration::from_millis(100));
    assert!(!t.echo_on(), "echo on while a key is typed");
    t.keyboard.write_all(b"sk-half-typed\x03").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = t.child.0[0].try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "Ctrl-C did not end init");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{}", text(&t.screen));
    assert!(t.echo_on(), "echo left off after Ctrl-C");
    assert!(!text(&t.screen).contains("sk-half"));
    assert!(!dir.join("switchyard.yaml").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_at_a_terminal_asks_for_keys_unechoed_then_the_file_serves_them() {
    let dir = empty_dir("pty");
    let t = AtTerminal::start(&dir, &["--output", "pty.yaml"]);
    let AtTerminal {
        child: mut procs,
        screen,
        mut keyboard,
        terminal,
    } = t;
    // Answer each prompt as it appears: keys for OpenAI and DeepSeek, Enter for the rest.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answered = 0;
    let status = loop {
        if let Some(s) = procs.0[0].try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "init still running: {}",
            text(&screen)
        );
        let shown = text(&screen);
        let prompts: Vec<&str> = shown.split_inclusive("Enter to skip): ").collect();
        let asked = shown.matches("Enter to skip): ").count();
        if asked > answered {
            let prompt = prompts[asked - 1].rsplit('\n').next().unwrap();
            let answer = if prompt.contains("OpenAI") {
                "sk-init-openai-0123456789\n"
            } else if prompt.contains("DeepSeek") {
                "sk-init-deepseek-0123456789\n"
            } else {
                "\n"
            };
            keyboard.write_all(answer.as_bytes()).unwrap();
            answered += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(100));
    let shown = text(&screen);
    assert!(status.success(), "{shown}");
    assert!(answered >= 6, "{answered} prompts: {shown}");
    for name in [
        "OpenAI",
        "Anthropic",
        "Gemini",
        "DeepSeek",
        "Qwen",
        "Moonshot",
    ] {
        assert!(shown.contains(name), "no {name} prompt: {shown}");
    }
    // Keys were typed with echo off, and echo is back on afterwards.
    assert!(!shown.contains("sk-init-"), "a key was echoed: {shown}");
    let t = AtTerminal {
        child: Procs(Vec::new()),
        screen,
        keyboard,
        terminal,
    };
    assert!(t.echo_on(), "echo left off");
    drop(t);

    let file = dir.join("pty.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert_eq!(mode(&file), 0o600);
    let token = word_after(&shown, "Admin token:");
    assert!(token.starts_with("sya-") && token.len() == 36, "{shown}");
    assert!(yaml.contains(&format!("token: \"{token}\"")), "{yaml}");
    assert!(
        shown.contains("switchyard --config pty.yaml") && shown.contains("http://127.0.0.1:8001/"),
        "{shown}"
    );
    assert!(
        yaml.contains("apiTokens: [\"sk-init-openai-0123456789\"]")
            && yaml.contains("apiTokens: [\"sk-init-deepseek-0123456789\"]")
            && !yaml.contains("claude"),
        "{yaml}"
    );

    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{summary}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        summary.contains("openai (type openai, 1 token")
            && summary.contains("deepseek (type deepseek, 1 token")
            && summary.contains("gpt-*, o1*")
            && summary.contains("deepseek-* -> deepseek"),
        "{summary}"
    );

    // Served against the emulator, which takes only the two keys typed.
    let mock = free_addr();
    procs.0.push(
        Command::new(BIN)
            .args(["mock", "--listen", &mock, "--accept-tokens"])
            .arg("sk-init-openai-0123456789,sk-init-deepseek-0123456789")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("    baseUrl: \"http://{mock}\"\n");
    let yaml = yaml
        .replace("    type: openai\n", &format!("    type: openai\n{base}"))
        .replace(
            "    type: deepseek\n",
            &format!("    type: deepseek\n{base}"),
        );
    std::fs::write(&file, yaml).unwrap();
    let (addr, admin) = (free_addr(), free_addr());
    procs.0.push(
        Command::new(BIN)
            .args([
                "serve",
                "--listen",
                &addr,
                "--admin-listen",
                &admin,
                "--config",
            ])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(
        "the gateway and the emulator",
        Duration::from_secs(20),
        || TcpStream::connect(&addr).is_ok() && TcpStream::connect(&mock).is_ok(),
    );
    let chat = |model: &str| {
        post(
            &addr,
            "/v1/chat/completions",
            &format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"Hi"}}]}}"#),
            "",
        )
    };
    let r = chat("gpt-4o-mini");
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("x-switchyard-provider: openai"),
        "{r}"
    );
    let r = chat("deepseek-chat");
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("x-switchyard-provider: deepseek"),
        "{r}"
    );
    let r = chat("claude-3-5-haiku-latest");
    assert!(
        r.starts_with("HTTP/1.1 404") && r.contains("model_not_found"),
        "{r}"
    );
    // The admin API wants the token init printed.
    assert!(get(&admin, "/status", "").starts_with("HTTP/1.1 401"));
    let r = get(
        &admin,
        "/status",
        &format!("authorization: Bearer {token}\r\n"),
    );
    assert!(
        r.starts_with("HTTP/1.1 200") && !r.contains("sk-init-"),
        "{r}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_without_a_terminal_writes_references_to_the_environment() {
    let dir = empty_dir("env");
    let init = |env: &[(&str, &str)], extra: &[&str]| {
        let out = Command::new(BIN)
            .arg("init")
            .args(extra)
            .current_dir(&dir)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let keys = [
        ("OPENAI_API_KEY", "sk-env-openai-secret-0001"),
        ("DEEPSEEK_API_KEY", "sk-env-deepseek-secret-0002"),
    ];

    // Nothing set: says what it looked for, writes nothing.
    let (code, _, err) = init(&[], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("OPENAI_API_KEY")
            && err.contains("ANTHROPIC_API_KEY")
            && err.contains("DASHSCOPE_API_KEY")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!dir.join("switchyard.yaml").exists());

    let (code, out, err) = init(&keys, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    let file = dir.join("switchyard.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert_eq!(mode(&file), 0o600);
    assert!(
        yaml.contains("apiTokens: [\"${OPENAI_API_KEY}\"]")
            && yaml.contains("apiTokens: [\"${DEEPSEEK_API_KEY}\"]")
            && !yaml.contains("secret")
            && !yaml.contains("claude"),
        "{yaml}"
    );
    assert!(
        !out.contains("secret") && !err.contains("secret"),
        "{out}{err}"
    );
    let token = word_after(&out, "Admin token:");
    assert!(
        yaml.contains(&format!("token: \"{token}\"")),
        "{yaml}\n{out}"
    );
    assert!(out.contains("switchyard --config switchyard.yaml"), "{out}");

    // An existing file is kept without --force.
    let (code, _, err) = init(&keys, &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), yaml);
    let (code, out, err) = init(&keys[..1], &["--force"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let again = std::fs::read_to_string(&file).unwrap();
    assert!(
        !again.contains("DEEPSEEK") && !again.contains(token),
        "{again}"
    );

    // GOOGLE_API_KEY stands in for GEMINI_API_KEY.
    let (code, out, err) = init(&[("GOOGLE_API_KEY", "g-1")], &["-o", "g.yaml"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let g = std::fs::read_to_string(dir.join("g.yaml")).unwrap();
    assert!(
        g.contains("type: gemini") && g.contains("${GOOGLE_API_KEY}"),
        "{g}"
    );

    // The references resolve when the variables are set.
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&file)
        .env("OPENAI_API_KEY", "sk-x")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_without_a_file_serves_the_providers_in_the_environment() {
    let dir = empty_dir("envstart");
    let (addr, admin) = (free_addr(), free_addr());
    let mut procs = Procs(vec![
        Command::new(BIN)
            .args(["serve", "--listen", &addr, "--admin-listen", &admin])
            .current_dir(&dir)
            .env_clear()
            .env("OPENAI_API_KEY", "sk-env-openai-secret-0001")
            .env("DEEPSEEK_API_KEY", "sk-env-deepseek-secret-0002")
            .env("SWITCHYARD_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ]);
    let diagnostics = collect(procs.0[0].stderr.take().unwrap());
    let mut stdout = BufReader::new(procs.0[0].stdout.take().unwrap());
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
        banner.contains("keys are in the environment")
            && banner.contains("looked for --config, $SWITCHYARD_CONFIG, ./switchyard.yaml")
            && banner.contains("openai ($OPENAI_API_KEY): gpt-*")
            && banner.contains("deepseek ($DEEPSEEK_API_KEY): deepseek-*")
            && banner.contains(&format!("http://{addr}/v1/chat/completions"))
            && banner.contains(&format!("Console: http://{admin}/ ")),
        "{banner}\n{}",
        text(&diagnostics)
    );
    wait_for("the listening log line", Duration::from_secs(5), || {
        text(&diagnostics).contains("switchyard listening")
    });
    let logged = text(&diagnostics);
    assert!(
        logged.contains("environment (OPENAI_API_KEY, DEEPSEEK_API_KEY)")
            && !logged.contains("secret"),
        "{logged}"
    );

    // Both providers, credentials masked, on the admin listener (no token: loopback).
    let status = get(&admin, "/status", "");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(
        status.contains(r#""id": "openai""#)
            && status.contains(r#""id": "deepseek""#)
            && status.contains("sk-…0001")
            && !status.contains("secret"),
        "{status}"
    );

    // No route for Claude models: the gateway's 404, in each client's dialect.
    let chat = |model: &str| {
        format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"Hi"}}]}}"#)
    };
    let r = post(&addr, "/v1/chat/completions", &chat("claude-3"), "");
    assert!(
        r.starts_with("HTTP/1.1 404")
            && r.contains(r#""code":"model_not_found""#)
            && r.contains("gpt-*")
            && r.contains("deepseek-*"),
        "{r}"
    );
    let body =
        r#"{"model":"claude-3","max_tokens":16,"messages":[{"role":"user","content":"Hi"}]}"#;
    let r = post(
        &addr,
        "/v1/messages",
        body,
        "anthropic-version: 2023-06-01\r\n",
    );
    assert!(
        r.starts_with("HTTP/1.1 404") && r.contains(r#""type":"error""#) && r.contains("claude-3"),
        "{r}"
    );

    // gpt-4o is routed to openai: with no network here, the gateway's own
    // upstream error names the provider (a 404 would mean no route).
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
        chat("gpt-4o").len(),
        chat("gpt-4o")
    );
    if let Some(r) = try_http(&addr, &request, Duration::from_secs(15)) {
        assert!(!r.starts_with("HTTP/1.1 404"), "{r}");
        assert!(
            r.contains("provider `openai`") || r.contains("x-switchyard-provider: openai"),
            "{r}"
        );
    }
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}
