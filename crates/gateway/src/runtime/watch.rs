//! What triggers a reload by itself: `SIGHUP`, and changes to the config
//! file (`server.watchConfig`, on by default).
//!
//! The file is watched by polling its metadata (size, mtime, inode) four
//! times a second: that sees an in-place edit and an atomic replace by
//! rename (editors, `sed -i`, Kubernetes ConfigMap symlink swaps) alike,
//! costs one `stat` per poll, and needs no platform notification API. A
//! burst of writes is debounced: the reload waits until the file has not
//! changed for one poll. A save that leaves the text as it was (the
//! version in force, or the version last tried) does nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::{Runtime, Trigger, reload};

/// How often the file's metadata is read.
pub const POLL: Duration = Duration::from_millis(250);

#[derive(Clone, PartialEq, Eq, Debug)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        inode,
    })
}

impl Runtime {
    /// Start reloading on `SIGHUP` and on changes to the config file. The
    /// tasks end when the runtime is dropped. Without a file (the demo),
    /// `SIGHUP` is still caught: it logs that there is nothing to reload
    /// instead of ending the process.
    pub fn spawn_reloaders(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        if let Some(path) = self.source().path.clone() {
            tokio::spawn(watch_file(weak.clone(), path));
        }
        #[cfg(unix)]
        tokio::spawn(on_sighup(weak));
    }
}

#[cfg(unix)]
async fn on_sighup(weak: Weak<Runtime>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with POST /admin/reload instead");
            return;
        }
    };
    while hup.recv().await.is_some() {
        let Some(rt) = weak.upgrade() else { return };
        tracing::info!("SIGHUP: reloading the configuration");
        let _ = rt.reload(Trigger::Signal).await;
    }
}

async fn watch_file(weak: Weak<Runtime>, path: PathBuf) {
    let mut last = stamp(&path);
    let mut tried: Option<Arc<str>> = None;
    loop {
        tokio::time::sleep(POLL).await;
        let now = stamp(&path);
        if now == last {
            if weak.strong_count() == 0 {
                return;
            }
            continue;
        }
        // Debounce: wait until a burst of writes is over.
        let mut settled = now;
        loop {
            tokio::time::sleep(POLL).await;
            let again = stamp(&path);
            if again == settled {
                break;
            }
            settled = again;
        }
        last = settled;
        let Some(rt) = weak.upgrade() else { return };
        if !rt.snapshot().watch_config {
            continue;
        }
        // Same text as in force or as last tried: nothing to do (a touch,
        // or a save of the same invalid file).
        let Ok(text) = std::fs::read(&path) else {
            // Gone for now (a replace in two steps): the next stamp change
            // brings it back.
            continue;
        };
        let version = reload::digest(&text);
        if version == rt.snapshot().version || tried.as_ref() == Some(&version) {
            continue;
        }
        tried = Some(version);
        let _ = rt.reload(Trigger::File).await;
    }
}
