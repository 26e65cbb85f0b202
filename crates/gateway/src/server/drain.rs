//! The end of a graceful shutdown's grace period, as a signal each running
//! stream watches: when it fires, a stream ends with the client dialect's
//! error event instead of being cut mid-event.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::watch;

#[derive(Clone)]
pub struct Drain {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Drain {
    fn default() -> Self {
        Drain {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Drain {
    /// A signal for one stream.
    pub fn signal(&self) -> DrainSignal {
        let mut rx = self.tx.subscribe();
        DrainSignal {
            fired: Box::pin(async move {
                if rx.wait_for(|fired| *fired).await.is_err() {
                    // The runtime is gone: never fires.
                    std::future::pending::<()>().await;
                }
            }),
        }
    }

    /// End every stream still running.
    pub fn fire(&self) {
        self.tx.send_replace(true);
    }
}

/// Ready once the drain fired. One allocation per stream, none for other
/// answers.
pub struct DrainSignal {
    fired: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl DrainSignal {
    pub fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.fired.as_mut().poll(cx)
    }
}

/// What a client reads in the error event of a stream ended by a shutdown.
pub const DRAINED: &str = "The gateway is shutting down and its grace period (server.shutdownGracePeriod) is over: this stream was ended before the provider finished. The answer above is incomplete; retry the request.";
