//! Reloading the configuration: read, validate, build a new snapshot and
//! swap it in, or change nothing and say why. Every way to reload (SIGHUP,
//! the file watch, `POST /admin/reload`, `switchyard reload`) comes here.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use switchyard_config::{Config, ConfigError};
use switchyard_routing::{CredentialKey, credential_key};

use super::{Runtime, Snapshot};
use crate::upstream::health_keys;

/// Where the configuration comes from, and the command line's overrides,
/// applied again to every reloaded file.
#[derive(Clone, Debug, Default)]
pub struct ConfigSource {
    pub path: Option<PathBuf>,
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
}

impl ConfigSource {
    /// Read and validate the file; `Err` lists every problem.
    pub fn load(&self) -> Result<(Config, Arc<str>), Vec<String>> {
        let (cfg, text) = self.load_text()?;
        Ok((cfg, digest(text.as_bytes())))
    }

    /// Read and validate the file; the config and the file's text.
    pub fn load_text(&self) -> Result<(Config, Arc<str>), Vec<String>> {
        let Some(path) = &self.path else {
            return Err(vec![
                "this gateway was started without a configuration file (built-in demo or embedded config): there is nothing to reload; start it with --config FILE".into(),
            ]);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
        let cfg = self.parse(&text)?;
        Ok((cfg, Arc::from(text)))
    }

    fn parse(&self, text: &str) -> Result<Config, Vec<String>> {
        self.parse_checked(text).map_err(|e| problems(&e))
    }

    /// Parse and validate `text` as this source's document, with the
    /// command line's overrides; `Err` keeps each problem's field path.
    pub(super) fn parse_checked(&self, text: &str) -> Result<Config, ConfigError> {
        let name = self
            .path
            .as_ref()
            .map_or_else(|| "config".to_string(), |p| p.display().to_string());
        let mut cfg = Config::from_yaml(text, &name)?;
        self.apply_overrides(&mut cfg);
        Ok(cfg)
    }

    pub fn apply_overrides(&self, cfg: &mut Config) {
        if let Some(l) = &self.listen {
            cfg.server.listen.clone_from(l);
        }
        if let Some(l) = &self.admin_listen {
            match &mut cfg.admin {
                Some(a) => a.listen.clone_from(l),
                None => cfg.admin = Some(switchyard_config::AdminConfig::new(l.clone())),
            }
        }
    }
}

fn problems(e: &ConfigError) -> Vec<String> {
    e.problems
        .iter()
        .map(|p| {
            if p.path.is_empty() {
                p.message.clone()
            } else {
                format!("{}: {}", p.path, p.message)
            }
        })
        .collect()
}

/// A config's version: the first 12 hex digits of the SHA-256 of its text,
/// so the same file has the same version on every instance and restart.
pub fn digest(text: &[u8]) -> Arc<str> {
    let d = ring::digest::digest(&ring::digest::SHA256, text);
    let mut s = String::with_capacity(12);
    for b in &d.as_ref()[..6] {
        s.push_str(&format!("{b:02x}"));
    }
    Arc::from(s)
}

/// What asked for a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// SIGHUP.
    Signal,
    /// The config file changed.
    File,
    /// `POST /admin/reload` (also what `switchyard reload` sends).
    Api,
    /// A write through the admin API (`/admin/providers`, `/admin/config`, ...).
    Admin,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Signal => "signal",
            Trigger::File => "file",
            Trigger::Api => "api",
            Trigger::Admin => "admin",
        }
    }
}

/// `GET /admin/reload`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadStatus {
    /// The version of the config in force.
    pub version: String,
    /// Successful loads since start (the first load is 1).
    pub generation: u64,
    pub file: Option<String>,
    /// Unix seconds of the load in force.
    pub loaded_at: u64,
    pub last_attempt: Option<Attempt>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// Unix seconds.
    pub at: u64,
    pub trigger: Trigger,
    pub ok: bool,
    /// Every problem found, when not ok.
    pub errors: Vec<String>,
    /// What changed, when ok.
    pub changes: Vec<String>,
    /// The version of the file tried.
    pub version: Option<String>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The reload side of the runtime.
pub(super) struct Reloads {
    pub source: ConfigSource,
    /// Held for a whole reload: reloads never interleave.
    pub(super) current: tokio::sync::Mutex<Current>,
    history: Mutex<History>,
}

pub(super) struct Current {
    pub cfg: Config,
    /// The document in force as written (before `${ENV}` expansion): what
    /// the admin API edits. `None` when the config came from no text.
    pub text: Option<Arc<str>>,
}

/// What `GET /admin/reload` shows besides the version in force (which is
/// the snapshot's).
struct History {
    generation: u64,
    loaded_at: u64,
    last_attempt: Option<Attempt>,
}

impl Reloads {
    pub fn new(source: ConfigSource, cfg: Config, text: Option<Arc<str>>) -> Reloads {
        Reloads {
            source,
            current: tokio::sync::Mutex::new(Current { cfg, text }),
            history: Mutex::new(History {
                generation: 1,
                loaded_at: unix_now(),
                last_attempt: None,
            }),
        }
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Runtime {
    /// Reload the configuration file. An invalid file changes nothing;
    /// `Err` lists every problem (also logged and kept for
    /// `GET /admin/reload`). `Ok` lists what changed.
    pub async fn reload(&self, trigger: Trigger) -> Result<Vec<String>, Vec<String>> {
        let loaded = self.reloads.source.load_text();
        let version = match &loaded {
            Ok((_, text)) => Some(digest(text.as_bytes())),
            Err(_) => None,
        };
        let result = match (loaded, &version) {
            (Ok((cfg, text)), Some(version)) => self.apply(cfg, text, version.clone()).await,
            (Err(errors), _) => Err(errors),
            (Ok(_), None) => Err(vec!["internal: no version".into()]),
        };
        self.record(trigger, version, &result);
        result
    }

    /// Swap in `cfg` (already validated) unless it cannot be built.
    async fn apply(
        &self,
        cfg: Config,
        text: Arc<str>,
        version: Arc<str>,
    ) -> Result<Vec<String>, Vec<String>> {
        let current = self.reloads.current.lock().await;
        let store = self.shared.health_store.as_ref();
        let snap = Snapshot::build(&cfg, store, version).map_err(|e| vec![e.to_string()])?;
        let changes = diff(&current.cfg, &cfg);
        self.install(current, cfg, Some(text), snap);
        Ok(changes)
    }

    /// Make `cfg` (built as `snap`) the config in force, then release the
    /// reload lock.
    pub(super) fn install(
        &self,
        mut current: tokio::sync::MutexGuard<'_, Current>,
        cfg: Config,
        text: Option<Arc<str>>,
        snap: Snapshot,
    ) {
        let store = self.shared.health_store.as_ref();
        self.shared
            .telemetry
            .add_known_models(super::snapshot::config_models(&cfg));
        self.snapshot.store(Arc::new(snap));
        // Credentials no provider has any more are forgotten; the others
        // keep their record (the new snapshot shares it).
        let keep: std::collections::HashSet<CredentialKey> = cfg
            .providers
            .iter()
            .flat_map(|p| {
                health_keys(p)
                    .into_iter()
                    .map(|k| credential_key(&p.id, &k))
            })
            .collect();
        store.retain(&|key| keep.contains(key));
        current.cfg = cfg;
        current.text = text;
        drop(current);
        self.start_background();
    }

    pub(super) fn record(
        &self,
        trigger: Trigger,
        version: Option<Arc<str>>,
        result: &Result<Vec<String>, Vec<String>>,
    ) {
        let file = self
            .reloads
            .source
            .path
            .as_ref()
            .map_or_else(|| "(no file)".to_string(), |p| p.display().to_string());
        let now = unix_now();
        let (errors, changes) = match result {
            Ok(changes) => (Vec::new(), changes.clone()),
            Err(errors) => (errors.clone(), Vec::new()),
        };
        let attempt = Attempt {
            at: now,
            trigger,
            ok: result.is_ok(),
            errors,
            changes,
            version: version.map(|v| v.to_string()),
        };
        let mut history = self.reloads.history();
        if attempt.ok {
            history.generation += 1;
            history.loaded_at = now;
        }
        ReloadEvent {
            file: &file,
            attempt: &attempt,
            version: &self.snapshot().version,
        }
        .emit(self.shared.telemetry.metrics.as_deref());
        history.last_attempt = Some(attempt);
    }

    /// What `GET /admin/reload` shows.
    pub fn reload_status(&self) -> ReloadStatus {
        let history = self.reloads.history();
        ReloadStatus {
            version: self.snapshot().version.to_string(),
            generation: history.generation,
            file: self
                .reloads
                .source
                .path
                .as_ref()
                .map(|p| p.display().to_string()),
            loaded_at: history.loaded_at,
            last_attempt: history.last_attempt.clone(),
        }
    }

    pub fn source(&self) -> &ConfigSource {
        &self.reloads.source
    }
}

/// A reload happened: one log line and the reload counter, together.
struct ReloadEvent<'a> {
    file: &'a str,
    attempt: &'a Attempt,
    version: &'a str,
}

impl ReloadEvent<'_> {
    fn emit(&self, metrics: Option<&crate::telemetry::Metrics>) {
        let a = self.attempt;
        if a.ok {
            let changes = if a.changes.is_empty() {
                "nothing changed".to_string()
            } else {
                a.changes.join("; ")
            };
            tracing::info!(
                file = self.file,
                trigger = a.trigger.as_str(),
                version = self.version,
                "configuration reloaded: {changes}"
            );
        } else {
            tracing::error!(
                file = self.file,
                trigger = a.trigger.as_str(),
                version = self.version,
                "configuration NOT reloaded, the running one is unchanged; fix these and save again: {}",
                a.errors.join(" | ")
            );
        }
        if let Some(m) = metrics {
            m.config_reload(a.ok);
        }
    }
}

/// What a reload changes, in words for the log and the admin API.
pub(super) fn diff(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    changed_items(&mut out, "providers", &old.providers, &new.providers, |p| {
        &p.id
    });
    changed_items(&mut out, "routes", &old.routes, &new.routes, |r| &r.name);
    changed_items(&mut out, "consumers", &old.consumers, &new.consumers, |c| {
        &c.name
    });
    if old.auth != new.auth {
        out.push("auth changed".into());
    }
    fn order(c: &Config) -> Vec<&str> {
        c.routes.iter().map(|r| r.name.as_str()).collect()
    }
    if order(old) != order(new) && !out.iter().any(|c| c.starts_with("routes")) {
        out.push("routes reordered".into());
    }
    if old.server.max_body_bytes != new.server.max_body_bytes {
        out.push("server.maxBodyBytes changed".into());
    }
    if old.server.body_read_timeout != new.server.body_read_timeout {
        out.push("server.bodyReadTimeout changed".into());
    }
    if old.server.shutdown_grace_period != new.server.shutdown_grace_period {
        out.push("server.shutdownGracePeriod changed".into());
    }
    if old.server.watch_config != new.server.watch_config {
        out.push(format!(
            "server.watchConfig is now {}",
            new.server.watch_config
        ));
    }
    let restart = [
        ("server.listen", old.server.listen != new.server.listen),
        (
            "server.maxConnections",
            old.server.max_connections != new.server.max_connections,
        ),
        ("server.workers", old.server.workers != new.server.workers),
        (
            "admin.listen",
            old.admin.as_ref().map(|a| &a.listen) != new.admin.as_ref().map(|a| &a.listen),
        ),
        ("metrics", old.metrics != new.metrics),
        ("log", old.log != new.log),
        ("otel", old.otel != new.otel),
        ("redis", old.redis != new.redis),
    ];
    for (name, differs) in restart {
        if differs {
            out.push(format!(
                "{name} changed but takes effect only after a restart"
            ));
        }
    }
    out
}

/// Items of `new` not in `old` (by `key`), of `old` not in `new`, and in
/// both but different, as "providers added: a, b" lines.
fn changed_items<T: PartialEq>(
    out: &mut Vec<String>,
    what: &str,
    old: &[T],
    new: &[T],
    key: impl Fn(&T) -> &String,
) {
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    for n in new {
        match old.iter().find(|o| key(o) == key(n)) {
            None => added.push(key(n).as_str()),
            Some(o) if o != n => changed.push(key(n).as_str()),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| key(n) == key(o)) {
            removed.push(key(o).as_str());
        }
    }
    for (verb, ids) in [("added", added), ("removed", removed), ("changed", changed)] {
        if !ids.is_empty() {
            out.push(format!("{what} {verb}: {}", ids.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cfg(yaml: &str) -> Config {
        Config::from_yaml(yaml, "t.yaml").unwrap()
    }

    #[test]
    fn diff_names_what_changed() {
        let a = cfg(r#"
providers:
  - { id: a, type: openai, apiTokens: ["sk-1"] }
  - { id: b, type: openai, apiTokens: ["sk-2"] }
routes:
  - { name: r1, models: ["gpt-*"], provider: a }
"#);
        let b = cfg(r#"
providers:
  - { id: a, type: openai, apiTokens: ["sk-1", "sk-3"] }
  - { id: c, type: openai, apiTokens: ["sk-4"] }
routes:
  - { name: r1, models: ["gpt-*"], provider: a }
  - { name: r2, models: ["x-*"], provider: c }
log: { access: "off" }
"#);
        assert_eq!(
            diff(&a, &b),
            vec![
                "providers added: c",
                "providers removed: b",
                "providers changed: a",
                "routes added: r2",
                "log changed but takes effect only after a restart",
            ]
        );
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn digest_is_stable_and_short() {
        assert_eq!(digest(b"abc").len(), 12);
        assert_eq!(digest(b"abc"), digest(b"abc"));
        assert_ne!(digest(b"abc"), digest(b"abd"));
    }
}
