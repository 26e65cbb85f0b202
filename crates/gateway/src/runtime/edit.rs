//! Changing the configuration through the admin API: edit the document as
//! written, validate it like a reload, build the snapshot, write the file
//! (atomically, the previous one kept as `<file>.bak`), then swap. Any
//! failure before the swap changes nothing, on disk or in memory.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use switchyard_config::{Document, EditError};

use super::reload::{diff, digest};
use super::{Runtime, Snapshot, Trigger};

/// A change applied (or, dry run, that would be).
#[derive(Debug)]
pub struct Edited<T> {
    /// What the edit returned (the key of a created object, ...).
    pub value: T,
    /// The document's version after the change (its `ETag`).
    pub version: Arc<str>,
    /// In words, as a reload logs them.
    pub changes: Vec<String>,
    /// Written to the config file (false: dry run, or no file).
    pub persisted: bool,
    /// The document after the change.
    pub document: Document,
}

/// Why a change was not made. Nothing changed.
#[derive(Debug)]
pub enum EditFailure {
    /// The gateway runs a config that came from no document.
    NoDocument,
    /// `If-Match` named another version than the one in force.
    Stale { current: Arc<str> },
    /// The edit itself was refused (unknown name, existing name, ...).
    Edit(EditError),
    /// The changed document is not a valid config: `(path, message)`.
    Invalid(Vec<(String, String)>),
    /// The file could not be written.
    Io(String),
}

/// How a write is made.
#[derive(Clone, Copy, Debug, Default)]
pub struct EditMode<'a> {
    /// Validate and report the changes; apply nothing.
    pub dry_run: bool,
    /// The version the writer last read (`If-Match`); `*` or `None`: any.
    pub if_match: Option<&'a str>,
}

impl Runtime {
    /// The document in force and its version; `None` when the config came
    /// from no document.
    pub async fn document(&self) -> Option<(Document, Arc<str>)> {
        let current = self.reloads.current.lock().await;
        let text = current.text.clone()?;
        drop(current);
        let doc = Document::parse(&text).ok()?;
        Some((doc, digest(text.as_bytes())))
    }

    /// Apply `f` to the document in force, as one reload: reloads and
    /// other edits wait for it.
    pub async fn edit<T>(
        &self,
        mode: EditMode<'_>,
        f: impl FnOnce(&mut Document) -> Result<T, EditError>,
    ) -> Result<Edited<T>, EditFailure> {
        let current = self.reloads.current.lock().await;
        let Some(text) = current.text.clone() else {
            return Err(EditFailure::NoDocument);
        };
        let version = digest(text.as_bytes());
        if let Some(m) = mode.if_match {
            let m = m.trim().trim_start_matches("W/").trim_matches('"');
            if m != "*" && m != &*version {
                return Err(EditFailure::Stale { current: version });
            }
        }
        let mut doc =
            Document::parse(&text).map_err(|e| EditFailure::Invalid(vec![(String::new(), e)]))?;
        let value = f(&mut doc).map_err(EditFailure::Edit)?;
        let new_text = doc
            .to_yaml()
            .map_err(|e| EditFailure::Invalid(vec![(String::new(), e)]))?;
        let cfg = self.reloads.source.parse_checked(&new_text).map_err(|e| {
            EditFailure::Invalid(
                e.problems
                    .into_iter()
                    .map(|p| located(p.path, p.message))
                    .collect(),
            )
        })?;
        let new_version = digest(new_text.as_bytes());
        let changes = diff(&current.cfg, &cfg);
        let mut edited = Edited {
            value,
            version: new_version.clone(),
            changes,
            persisted: false,
            document: doc,
        };
        if mode.dry_run {
            return Ok(edited);
        }
        let snap = Snapshot::build(&cfg, self.shared.health_store.as_ref(), new_version.clone())
            .map_err(|e| EditFailure::Invalid(vec![(String::new(), e.to_string())]))?;
        if let Some(path) = &self.reloads.source.path {
            persist(path, &new_text).map_err(EditFailure::Io)?;
            edited.persisted = true;
        }
        self.install(current, cfg, Some(Arc::from(new_text)), snap);
        self.record(
            Trigger::Admin,
            Some(new_version),
            &Ok(edited.changes.clone()),
        );
        Ok(edited)
    }
}

/// A parse error's place as a field path: the YAML the API wrote has
/// lines nobody has seen, so `at line N column M` is dropped and a leading
/// `consumers[0]: ` becomes the path.
fn located(path: String, message: String) -> (String, String) {
    if !path.is_empty() {
        return (path, message);
    }
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_string(),
        _ => message,
    };
    match message.split_once(": ") {
        Some((p, m))
            if !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "[]._".contains(c)) =>
        {
            (p.to_string(), m.to_string())
        }
        _ => (path, message),
    }
}

/// Write `text` to `path` atomically: a temporary file beside it (same
/// permissions), synced, the old file copied to `<file>.bak`, then a
/// rename over the original.
fn persist(path: &Path, text: &str) -> Result<(), String> {
    let explain = |what: &str, e: std::io::Error| {
        format!(
            "cannot {what} {}: {e}; the change was not applied (admin edits need a writable config file and directory)",
            path.display()
        )
    };
    let name = path.file_name().map_or_else(
        || "switchyard.yaml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let bak = path.with_file_name(format!("{name}.bak"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(&tmp, meta.permissions());
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(explain("write beside", e));
    }
    if path.exists()
        && let Err(e) = std::fs::copy(path, &bak)
    {
        let _ = std::fs::remove_file(&tmp);
        return Err(explain("keep a backup of", e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        explain("replace", e)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parse_errors_name_the_field_not_a_line() {
        assert_eq!(
            located(
                String::new(),
                "consumers[0]: missing field `keys` at line 30 column 3".into()
            ),
            ("consumers[0]".into(), "missing field `keys`".into())
        );
        assert_eq!(
            located("routes[1].provider".into(), "no provider".into()),
            ("routes[1].provider".into(), "no provider".into())
        );
    }

    #[test]
    fn persist_keeps_the_previous_file() {
        let dir = std::env::temp_dir().join(format!("sy-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("sy.yaml");
        std::fs::write(&f, "old: 1\n").unwrap();
        persist(&f, "new: 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new: 2\n");
        assert_eq!(
            std::fs::read_to_string(dir.join("sy.yaml.bak")).unwrap(),
            "old: 1\n"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let e = persist(&dir.join("missing-dir/sy.yaml"), "x").unwrap_err();
        assert!(e.contains("was not applied"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
