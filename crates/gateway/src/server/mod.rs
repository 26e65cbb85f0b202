//! Accepting connections and serving HTTP/1.1 ([`h1`], our codec) and
//! HTTP/2 (cleartext, hyper's) on them: a bound on connections served at
//! once, and a graceful shutdown that stops accepting, lets requests and
//! streams finish within the grace period, then ends the remaining streams
//! with an error event.

mod drain;
pub mod h1;

pub use drain::{DRAINED, Drain, DrainSignal};
pub use h1::RequestBody;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use switchyard_config::Config;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::runtime::{BuildError, ConfigSource, Runtime};

/// A gateway ready to serve.
#[derive(Clone)]
pub struct Gateway {
    runtime: Arc<Runtime>,
}

impl Gateway {
    pub fn new(cfg: &Config) -> Result<Gateway, BuildError> {
        Ok(Gateway {
            runtime: Arc::new(Runtime::new(cfg)?),
        })
    }

    /// A gateway for the file `source` names: it can be reloaded (SIGHUP,
    /// file changes, `POST /admin/reload`). Returns the config loaded.
    pub fn from_source(source: ConfigSource) -> Result<(Gateway, Config), String> {
        let (cfg, text) = source.load_text().map_err(|errors| {
            let file = source
                .path
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string());
            format!(
                "{file}: {} problem{} found\n  - {}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors.join("\n  - ")
            )
        })?;
        let runtime = Runtime::with_source(&cfg, source, Some(text)).map_err(|e| e.to_string())?;
        Ok((
            Gateway {
                runtime: Arc::new(runtime),
            },
            cfg,
        ))
    }

    /// A gateway for a document held in memory (the demo, a config built
    /// from the environment): the admin API can edit it live; nothing is
    /// written to disk. `name` names it in errors.
    pub fn from_text(
        source: ConfigSource,
        text: &str,
        name: &str,
    ) -> Result<(Gateway, Config), String> {
        let mut cfg = Config::from_yaml(text, name).map_err(|e| e.to_string())?;
        source.apply_overrides(&mut cfg);
        let runtime =
            Runtime::with_source(&cfg, source, Some(Arc::from(text))).map_err(|e| e.to_string())?;
        Ok((
            Gateway {
                runtime: Arc::new(runtime),
            },
            cfg,
        ))
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Serve on `listener` until `shutdown` completes, then drain (see
    /// [`serve`]).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        serve(self.runtime, listener, shutdown).await
    }

    /// Serve with a current-thread runtime per listener (see
    /// [`serve_per_core`]).
    pub async fn serve_per_core(
        self,
        listeners: Vec<std::net::TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        serve_per_core(self.runtime, listeners, shutdown).await
    }

    /// Serve the admin API (`/health`, `/status`, `/metrics`,
    /// `/admin/reload`) on `listener`.
    pub async fn serve_admin(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        crate::admin::serve(self.runtime.clone(), listener, shutdown).await
    }
}

/// Serve until `shutdown` completes. Then: the listener is closed (new
/// connections are refused at once), requests in flight have
/// `server.shutdownGracePeriod` to finish, streams still running after it
/// end with an error event, and what ended is accounted and exported.
pub async fn serve(
    runtime: Arc<Runtime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = start(&runtime);
    accept_and_drain(&runtime, listener, shutdown, permits).await;
    flush(&runtime).await;
    Ok(())
}

/// [`serve`] with one current-thread runtime per listener, each on its own
/// thread (thread per core): `listeners` share one address
/// (`SO_REUSEPORT`, see [`bind_per_core`]) and the kernel spreads new
/// connections over them. A request lives on one thread from accept to
/// its last byte, and no two runtimes steal from or wake each other; the
/// upstream connection pool is kept per runtime. Background work (health,
/// reloads) stays on the calling runtime. `server.maxConnections` holds
/// for all of them together.
pub async fn serve_per_core(
    runtime: Arc<Runtime>,
    listeners: Vec<std::net::TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = start(&runtime);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut ended = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.into_iter().enumerate() {
        let (rt, permits, mut stop) = (runtime.clone(), permits.clone(), stop_rx.clone());
        let (done, end) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
        std::thread::Builder::new()
            .name(format!("switchyard-{}", i + 1))
            .spawn(move || {
                crate::upstream::set_runtime_shard(i + 1);
                let served = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|local| {
                        local.block_on(async move {
                            listener.set_nonblocking(true)?;
                            let listener = TcpListener::from_std(listener)?;
                            let stopped = async move {
                                let _ = stop.wait_for(|s| *s).await;
                            };
                            accept_and_drain(&rt, listener, stopped, permits).await;
                            Ok(())
                        })
                    });
                let _ = done.send(served);
            })?;
        ended.push(end);
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    let mut first_error = None;
    for end in ended {
        if let Ok(Err(e)) = end.await {
            tracing::error!(error = %e, "a serving thread could not run");
            first_error.get_or_insert(e);
        }
    }
    flush(&runtime).await;
    first_error.map_or(Ok(()), Err)
}

/// Start the background work (health, reloads, shared state) on the
/// calling runtime, once, and make the connection permits: a connection
/// holds one while it is open; past `server.maxConnections`, new
/// connections wait in the listen backlog.
fn start(runtime: &Arc<Runtime>) -> Arc<Semaphore> {
    runtime.start_background();
    crate::health_sync::spawn(runtime);
    Arc::new(Semaphore::new(runtime.snapshot().max_connections))
}

/// `n` listening sockets on `addr`, all with `SO_REUSEPORT` (the first
/// picks the port when `addr` asks for port 0), for [`serve_per_core`].
pub fn bind_per_core(addr: &str, n: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    use socket2::{Domain, Socket, Type};
    let mut at: std::net::SocketAddr = match std::net::ToSocketAddrs::to_socket_addrs(addr)?.next()
    {
        Some(a) => a,
        None => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{addr}` names no address"),
            ));
        }
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let socket = Socket::new(Domain::for_address(at), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
        socket.bind(&at.into())?;
        socket.listen(1024)?;
        let listener: std::net::TcpListener = socket.into();
        at = listener.local_addr()?;
        out.push(listener);
    }
    Ok(out)
}

/// Accept on `listener` until `shutdown`, then drain: the listener closes,
/// requests in flight get the grace period, streams past it end.
async fn accept_and_drain(
    runtime: &Arc<Runtime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    permits: Arc<Semaphore>,
) {
    let mut fallback = auto::Builder::new(TokioExecutor::new());
    fallback
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(h1::HEAD_TIMEOUT)
        .keep_alive(true);
    let served = Arc::new(h1::Served {
        runtime: runtime.clone(),
        fallback,
    });
    let max_connections = runtime.snapshot().max_connections;
    // Fires at shutdown; `closed()` is ready once every connection (each
    // holds a receiver) has ended.
    let (stop, _) = tokio::sync::watch::channel(false);
    let mut backoff = Backoff::default();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((s, peer)) => {
                    backoff.reset();
                    (s, peer.ip())
                }
                Err(e) => {
                    backoff.wait(&e, "client").await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = h1::serve(served.clone(), stream, peer, stop.subscribe());
        tokio::spawn(async move {
            conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let grace = runtime.snapshot().shutdown_grace_period;
    let open = max_connections.saturating_sub(permits.available_permits());
    tracing::info!(
        open_connections = open,
        grace_ms = grace.as_millis() as u64,
        "shutting down: new connections are refused; waiting for requests in flight"
    );
    stop.send_replace(true);
    let drained = stop.closed();
    tokio::pin!(drained);
    tokio::select! {
        () = &mut drained => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "grace period over: ending the streams still running with an error event"
            );
            runtime.shared.drain.fire();
            if tokio::time::timeout(Duration::from_secs(2), &mut drained).await.is_err() {
                tracing::warn!("connections still open after the grace period; closing them");
            }
        }
    }
}

/// What ended before the stop is logged, counted and exported.
async fn flush(runtime: &Arc<Runtime>) {
    runtime.shared.telemetry.flush(Duration::from_secs(2)).await;
    if let Some(t) = &runtime.shared.telemetry.tracer {
        let _ = tokio::time::timeout(Duration::from_secs(5), t.flush()).await;
    }
}

/// After an accept error (out of file descriptors, ...): wait before the
/// next accept, longer each time in a row, so the loop never spins.
#[derive(Default)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub async fn wait(&mut self, e: &std::io::Error, which: &str) {
        let ms = 10u64 << self.failures.min(7);
        if self.failures == 0 {
            tracing::warn!(error = %e, listener = which, "accept failed; backing off");
        }
        self.failures = self.failures.saturating_add(1);
        tokio::time::sleep(Duration::from_millis(ms.min(1000))).await;
    }
}
