//! Shared credential health, applied here: each time the shared view of
//! what is out changes (Redis, polled every 250 ms by
//! `switchyard_store::RedisHealth`), every credential of the configuration
//! in force is compared with it ([`switchyard_routing::share::apply_remote`]):
//! - one another instance took out leaves rotation here too (logged as
//!   "taken out by another instance"; under health checks, this instance's
//!   checker starts too, and probes only when it holds the lease);
//! - one that left the view (its prober brought it back, or its cooldown
//!   ended) comes back here.
//!
//! Only credentials this instance has are touched; the request path never
//! waits on any of this.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use switchyard_routing::share::{apply_remote, unix_ms};
use switchyard_routing::{Recovery, RemoteChange, RemoteOut};

use crate::runtime::Runtime;

/// Start applying the shared view to `runtime` (once; nothing when health
/// is not shared). The task ends with the runtime.
pub fn spawn(runtime: &Arc<Runtime>) {
    let Some(mut rx) = runtime.shared.health_share.remote() else {
        return;
    };
    if runtime
        .shared
        .health_sync_started
        .swap(true, Ordering::AcqRel)
    {
        return;
    }
    let weak = Arc::downgrade(runtime);
    tokio::spawn(async move {
        let mut prev = Arc::new(RemoteOut::default());
        loop {
            let cur = rx.borrow_and_update().clone();
            let Some(rt) = weak.upgrade() else {
                return;
            };
            apply(&rt, &prev, &cur);
            drop(rt);
            prev = cur;
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Compare every credential of the snapshot in force with the view.
pub fn apply(rt: &Runtime, prev: &RemoteOut, cur: &RemoteOut) {
    let snap = rt.snapshot();
    let now_ms = unix_ms();
    let now = tokio::time::Instant::now();
    for up in &snap.upstreams {
        let Some(policy) = up.pool.policy() else {
            continue;
        };
        for (idx, key) in up.keys.iter().enumerate() {
            let Some(health) = up.pool.health(idx) else {
                continue;
            };
            match apply_remote(health, policy, key, prev, cur, now_ms, now) {
                Some(RemoteChange::WentOut) => {
                    tracing::warn!(provider = %up.id, credential = up.masked(idx), "credential out of rotation: taken out by another instance");
                    if let Recovery::Check { .. } = policy.recovery {
                        rt.shared.checker.spawn(up, idx);
                    }
                }
                Some(RemoteChange::CameBack) => {
                    tracing::info!(provider = %up.id, credential = up.masked(idx), "credential back in rotation: brought back by another instance");
                }
                None => {}
            }
        }
    }
}
