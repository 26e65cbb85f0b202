//! Accepting connections and serving HTTP/1.1 and HTTP/2 (cleartext) on them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use switchyard_config::Config;
use tokio::net::TcpListener;

use crate::handler;
use crate::runtime::{BuildError, Runtime};

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

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Serve on `listener` until `shutdown` completes, then drain open
    /// connections for up to ten seconds.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        serve(self.runtime, listener, shutdown).await
    }

    /// Serve the admin API (`/health`, `/status`) on `listener`.
    pub async fn serve_admin(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        crate::admin::serve(self.runtime.clone(), listener, shutdown).await
    }
}

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
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors and similar: back off
                        // briefly instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let rt = runtime.clone();
                let svc = service_fn(move |req| handler::handle(rt.clone(), req));
                let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10s; closing them");
    }
    // What ended before the stop is logged, counted and exported.
    runtime.telemetry.flush(Duration::from_secs(2)).await;
    if let Some(t) = &runtime.telemetry.tracer {
        let _ = tokio::time::timeout(Duration::from_secs(5), t.flush()).await;
    }
    Ok(())
}
