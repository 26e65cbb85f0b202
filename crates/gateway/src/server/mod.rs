//! Accepting connections and serving HTTP/1.1 and HTTP/2 (cleartext) on
//! them: a bound on connections served at once, and a graceful shutdown
//! that stops accepting, lets requests and streams finish within the grace
//! period, then ends the remaining streams with an error event.

mod drain;

pub use drain::{DRAINED, Drain, DrainSignal};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use switchyard_config::Config;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::pipeline;
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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true);
    runtime.start_background();
    crate::health_sync::spawn(&runtime);
    let max_connections = runtime.snapshot().max_connections;
    // A connection holds a permit while it is open; past the limit, new
    // connections wait in the listen backlog.
    let permits = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
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
        let rt = runtime.clone();
        // Boxed: the request's future (several KiB) lives only while the
        // request is handled, not inline in every connection's task for
        // as long as the connection stays open (streams included).
        let svc = service_fn(move |req| Box::pin(pipeline::handle(rt.clone(), Some(peer), req)));
        let conn = builder
            .serve_connection(TokioIo::new(stream), svc)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
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
    let drained = graceful.shutdown();
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
    // What ended before the stop is logged, counted and exported.
    runtime.shared.telemetry.flush(Duration::from_secs(2)).await;
    if let Some(t) = &runtime.shared.telemetry.tracer {
        let _ = tokio::time::timeout(Duration::from_secs(5), t.flush()).await;
    }
    Ok(())
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
