//! The runtime: services that live for the process ([`Shared`]) and the
//! configuration compiled for the request path ([`Snapshot`]), swapped
//! atomically by a reload. Each request loads the snapshot once and
//! finishes on it, whatever reloads happen meanwhile. See
//! `docs/request-lifecycle.md` and `docs/reload.md`.

pub mod consumers;
mod edit;
pub mod limits;
mod reload;
mod shared;
mod snapshot;
mod watch;

use std::sync::Arc;

use arc_swap::ArcSwap;
use switchyard_config::Config;

pub use edit::{EditFailure, EditMode, Edited};
pub use reload::{ConfigSource, ReloadStatus, Trigger};
pub use shared::{HttpClient, Shared};
pub use snapshot::{Fallback, FallbackTarget, RouteTarget, Snapshot};

/// The configuration could not be turned into a runtime.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

pub struct Runtime {
    pub shared: Shared,
    snapshot: ArcSwap<Snapshot>,
    reloads: reload::Reloads,
}

impl Runtime {
    /// A runtime for a config that did not come from a file (tests, the
    /// demo): it can be reloaded only through [`Runtime::apply`].
    pub fn new(cfg: &Config) -> Result<Runtime, BuildError> {
        Runtime::with_source(cfg, ConfigSource::default(), None)
    }

    /// A runtime for `cfg`, read from `source`; `text` is the document as
    /// written (the admin API edits it; its digest is the version).
    pub fn with_source(
        cfg: &Config,
        source: ConfigSource,
        text: Option<Arc<str>>,
    ) -> Result<Runtime, BuildError> {
        let version = reload::digest(text.as_deref().unwrap_or_default().as_bytes());
        let shared = Shared::start(cfg, snapshot::config_models(cfg))?;
        let snap = Snapshot::build(cfg, shared.health_store.as_ref(), version)?;
        Ok(Runtime {
            shared,
            snapshot: ArcSwap::from_pointee(snap),
            reloads: reload::Reloads::new(source, cfg.clone(), text),
        })
    }

    /// The configuration in force now. A request calls this once.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Start background work for the current snapshot: health checks for
    /// credentials that are out of rotation (state kept across a reload).
    pub fn start_background(&self) {
        let snap = self.snapshot();
        for up in &snap.upstreams {
            for i in 0..up.pool.len() {
                if up.pool.health(i).is_some_and(|h| h.is_out()) {
                    self.shared.checker.spawn(up, i);
                }
            }
        }
    }
}
