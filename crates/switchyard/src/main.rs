//! `switchyard`: the command line. Thin: parse arguments, set up logging,
//! hand over to the gateway or the emulator.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use switchyard_config::Config;
use switchyard_emulator::{Emulator, MockConfig};
use switchyard_gateway::{ConfigSource, Gateway};
use tokio::net::TcpListener;

/// mimalloc instead of glibc's malloc: see docs/performance.md ("Allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod demo;
mod init;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "An AI gateway: one OpenAI-compatible endpoint in front of every LLM provider."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve(ServeArgs),
    /// Validate a configuration file and print a summary or every problem.
    CheckConfig {
        /// The YAML file to check.
        file: PathBuf,
    },
    /// Run the provider emulator (OpenAI wire format, credential-driven faults).
    Mock(MockArgs),
    /// Ask a running gateway to reload its configuration file (POST
    /// /admin/reload); prints what changed, or every problem.
    Reload(ReloadArgs),
    /// Consumer keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Write a first configuration file: asks for each common provider's
    /// API key at a terminal (Enter skips; keys are not shown). Without a
    /// terminal it refers to the keys' usual environment variables instead
    /// (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or GOOGLE_API_KEY,
    /// DEEPSEEK_API_KEY, DASHSCOPE_API_KEY, MOONSHOT_API_KEY, MISTRAL_API_KEY,
    /// XAI_API_KEY, ZHIPUAI_API_KEY, MINIMAX_API_KEY, ARK_API_KEY,
    /// GROQ_API_KEY, TOGETHER_API_KEY, FIREWORKS_API_KEY, OPENROUTER_API_KEY).
    Init(init::InitArgs),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print a new random consumer key and its `sha256:` form (put either
    /// in `consumers[].keys`; the sha256 form keeps the key out of the file).
    New,
}

#[derive(Args)]
struct ReloadArgs {
    /// The gateway's admin address; default: admin.listen of the config
    /// file (--config or ./switchyard.yaml), else 127.0.0.1:8001.
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// The configuration file the gateway runs with (to find admin.listen
    /// and admin.token).
    #[arg(long, short, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    /// The admin token; default: admin.token of the config file.
    #[arg(long, env = "SWITCHYARD_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Configuration file; without one, ./switchyard.yaml if present, else
    /// the providers whose key variables are set (OPENAI_API_KEY, ...; see
    /// `switchyard init --help`), else a built-in demo backed by an
    /// in-process emulator.
    #[arg(long, short, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    /// Override server.listen.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Override admin.listen (health, status and /metrics).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
}

#[derive(Args)]
struct MockArgs {
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// Delay before the first byte of every answer, e.g. 0ms, 50ms, 1s.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    latency: Duration,
    /// Accept only these tokens (comma-separated); any other gets 401.
    #[arg(long, value_delimiter = ',')]
    accept_tokens: Option<Vec<String>>,
    /// Content chunks per streamed answer.
    #[arg(long, default_value_t = 8)]
    stream_chunks: usize,
    /// Delay between streamed events.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    chunk_delay: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    switchyard_config::parse_duration(s)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Diagnostics go to stderr; stdout carries the access log.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig { file }) => check_config(&file),
        Some(Command::Mock(args)) => run(mock(args)),
        Some(Command::Reload(args)) => run(reload(args)),
        Some(Command::Key(KeyCommand::New)) => key_new(),
        Some(Command::Init(args)) => init::run(&args),
        Some(Command::Serve(args)) => {
            let workers = workers(&args);
            run_with(serve(args, workers), Some(1))
        }
        None => {
            let workers = workers(&cli.serve);
            run_with(serve(cli.serve, workers), Some(1))
        }
    }
}

/// How many serving threads (a current-thread runtime each): the file's
/// `server.workers` (read again, and any problem reported, by `serve`
/// itself), else the cores available to the process.
fn workers(args: &ServeArgs) -> usize {
    let default_file = PathBuf::from("switchyard.yaml");
    args.config
        .clone()
        .or_else(|| default_file.exists().then_some(default_file))
        .and_then(|file| Config::load(&file).ok()?.server.workers)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn run(fut: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    run_with(fut, None)
}

fn run_with(
    fut: impl std::future::Future<Output = Result<(), String>>,
    workers: Option<usize>,
) -> ExitCode {
    init_logging();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn key_new() -> ExitCode {
    match switchyard_gateway::runtime::consumers::new_key() {
        Ok(key) => {
            println!("key:    {key}");
            println!("config: sha256:{}", switchyard_config::key_digest_hex(&key));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match Config::load(file) {
        Ok(cfg) => {
            println!("{}: OK", file.display());
            print!("{}", demo::summary(&cfg));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}

/// Serve on `workers` threads, each its own current-thread runtime with its
/// own listener on the one address (thread per core); this runtime keeps
/// the admin API, reloads and background work.
async fn serve(args: ServeArgs, workers: usize) -> Result<(), String> {
    let default_file = PathBuf::from("switchyard.yaml");
    let from_env_var = args.config.is_some()
        && std::env::var_os("SWITCHYARD_CONFIG")
            .is_some_and(|v| Some(v.as_os_str()) == args.config.as_ref().map(|p| p.as_os_str()));
    let file = args
        .config
        .or_else(|| default_file.exists().then_some(default_file));
    let config_name = match &file {
        Some(p) if from_env_var => format!("{} (from $SWITCHYARD_CONFIG)", p.display()),
        Some(p) if p == Path::new("switchyard.yaml") => {
            format!("{} (found in the working directory)", p.display())
        }
        Some(p) => format!("{} (from --config)", p.display()),
        None => String::new(),
    };
    let overrides = |path| ConfigSource {
        path,
        listen: args.listen.map(|l| l.to_string()),
        admin_listen: args.admin_listen.map(|l| l.to_string()),
    };
    // No file: the providers whose keys are in the environment, else the demo.
    let env_start = match file {
        Some(_) => None,
        None => init::starters::env_start(init::process_env),
    };
    let (gateway, cfg, demo_emulator) = match (file, &env_start) {
        (Some(path), _) => {
            let (gateway, cfg) = Gateway::from_source(overrides(Some(path)))?;
            (gateway, cfg, None)
        }
        (None, Some(start)) => {
            // Held as text: the admin API edits it live (not persisted).
            let (gateway, cfg) = Gateway::from_text(overrides(None), &start.yaml, &start.source)?;
            (gateway, cfg, None)
        }
        (None, None) => {
            let running = Emulator::new(MockConfig::default())
                .start(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .map_err(|e| format!("cannot start the demo emulator: {e}"))?;
            let (gateway, cfg) =
                Gateway::from_text(overrides(None), &demo::yaml(running.addr), "built-in demo")?;
            (gateway, cfg, Some(running))
        }
    };
    let listeners = switchyard_gateway::server::bind_per_core(&cfg.server.listen, workers)
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.server.listen))?;
    let addr = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .ok_or_else(|| format!("cannot listen on {}", cfg.server.listen))?;
    if let Some(a) = &cfg.admin
        && let Ok(addr) = a.listen.parse::<std::net::SocketAddr>()
        && !a.may_listen_on(&addr)
    {
        return Err(format!(
            "refusing to serve the admin API on {} without admin.token: anyone who reaches it could change the gateway. Set admin.token or listen on 127.0.0.1",
            a.listen
        ));
    }
    let file_less = demo_emulator.is_some() || env_start.is_some();
    let admin_listener = match &cfg.admin {
        Some(a) => match TcpListener::bind(&a.listen).await {
            Ok(l) => Some(l),
            // The demo and the environment start must start whatever else runs here.
            Err(e) if file_less => {
                tracing::warn!(listen = %a.listen, error = %e, "admin API not started");
                None
            }
            Err(e) => return Err(format!("cannot listen on {} (admin.listen): {e}", a.listen)),
        },
        None => None,
    };
    let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
    let config_name = match &env_start {
        Some(start) => {
            println!("{}", init::env_banner(start, addr, admin_addr));
            start.source.clone()
        }
        None if demo_emulator.is_some() => {
            println!("{}", demo::banner(addr, admin_addr));
            format!("built-in demo ({})", init::LOOKED_FOR)
        }
        None => config_name,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let admin = match admin_listener {
        Some(l) => {
            if let Some(a) = admin_addr {
                tracing::info!(listen = %a, "admin API listening (/health, /status, /metrics, /admin/reload)");
            }
            let g = gateway.clone();
            let mut stop = stop_rx.clone();
            Some(tokio::spawn(async move {
                let _ = g
                    .serve_admin(l, async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
            }))
        }
        None => None,
    };
    if cfg.metrics.enabled && admin.is_none() {
        tracing::info!("metrics are counted but not served: set admin.listen to scrape /metrics");
    }
    gateway.runtime().spawn_reloaders();
    tracing::info!(listen = %addr, workers, config = %config_name, providers = cfg.providers.len(), routes = cfg.routes.len(), version = %gateway.runtime().reload_status().version, "switchyard listening");
    let served = gateway
        .serve_per_core(listeners, async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
            // A second signal does not wait for the drain.
            tokio::spawn(async {
                shutdown_signal().await;
                tracing::warn!("second signal: exiting now without waiting for requests in flight");
                std::process::exit(130);
            });
        })
        .await
        .map_err(|e| e.to_string());
    if let Some(a) = admin {
        let _ = a.await;
    }
    served
}

async fn reload(args: ReloadArgs) -> Result<(), String> {
    // The file is read only for what the flags do not give.
    let from_file = if args.admin.is_some() && args.token.is_some() {
        None
    } else {
        let default_file = PathBuf::from("switchyard.yaml");
        match args
            .config
            .or_else(|| default_file.exists().then_some(default_file))
        {
            Some(f) => {
                Config::load(&f)
                    .map_err(|e| format!("{e}(pass --admin ADDR and --token to skip reading it)"))?
                    .admin
            }
            None => None,
        }
    };
    let addr = match args.admin {
        Some(a) => a,
        None => from_file
            .as_ref()
            .map_or("127.0.0.1:8001", |a| a.listen.as_str())
            .parse()
            .map_err(|e| format!("admin.listen is not an address: {e}"))?,
    };
    let token = args.token.or_else(|| from_file.and_then(|a| a.token));
    let (status, body) = switchyard_gateway::admin::request_reload(addr, token.as_deref()).await?;
    if status == 401 {
        return Err(format!(
            "the admin API at {addr} needs its token: pass --token, set SWITCHYARD_ADMIN_TOKEN, or point --config at the file holding admin.token{}",
            if token.is_some() {
                " (the token given was refused)"
            } else {
                ""
            }
        ));
    }
    let answer: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
        format!(
            "unexpected answer from {addr} (HTTP {status}): {}",
            String::from_utf8_lossy(&body)
        )
    })?;
    let list = |key: &str| -> Vec<String> {
        answer[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let version = answer["status"]["version"].as_str().unwrap_or("?");
    if answer["ok"].as_bool() == Some(true) {
        let changes = list("changes");
        println!("reloaded: version {version}");
        if changes.is_empty() {
            println!("  nothing changed");
        }
        for c in changes {
            println!("  - {c}");
        }
        Ok(())
    } else {
        let errors = list("errors");
        Err(format!(
            "not reloaded; the gateway keeps running version {version}:\n  - {}",
            errors.join("\n  - ")
        ))
    }
}

async fn mock(args: MockArgs) -> Result<(), String> {
    let cfg = MockConfig {
        latency: args.latency,
        accept_tokens: args.accept_tokens,
        stream_chunks: args.stream_chunks,
        chunk_delay: args.chunk_delay,
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(listen = %args.listen, "switchyard emulator listening");
    tokio::select! {
        r = Emulator::new(cfg).serve(listener) => r.map_err(|e| e.to_string()),
        () = shutdown_signal() => Ok(()),
    }
}
