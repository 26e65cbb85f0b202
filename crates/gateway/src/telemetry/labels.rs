//! Bounded label values: a client can send any model name, and a route
//! that keeps the requested name forwards it; the `model` label must not
//! grow a series per name. The config's own model names always keep
//! theirs; the first `max` others seen keep theirs; later ones are `other`.
//!
//! One set for every telemetry worker: the bound is global, not per worker.
//! A name already seen costs a shared read lock; only a new name takes the
//! write lock (at most `max` times).

use std::sync::{Arc, PoisonError, RwLock};

use arc_swap::ArcSwap;

/// Looked up for every record; seeded per process (`foldhash`), and the
/// sets are bounded by `max` whatever names clients send.
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

pub const OTHER: &str = "other";
pub const NONE: &str = "none";

pub struct ModelLabels {
    /// The config's names; a reload adds its own (never removes: a label
    /// value keeps meaning the same series).
    known: ArcSwap<HashSet<Arc<str>>>,
    seen: RwLock<HashSet<Arc<str>>>,
    max: usize,
    other: Arc<str>,
    none: Arc<str>,
}

impl ModelLabels {
    pub fn new(known: impl IntoIterator<Item = String>, max: usize) -> Self {
        ModelLabels {
            known: ArcSwap::from_pointee(known.into_iter().map(Arc::from).collect()),
            seen: RwLock::new(HashSet::default()),
            max,
            other: Arc::from(OTHER),
            none: Arc::from(NONE),
        }
    }

    /// The label value for `model` (`none` when there is no model).
    pub fn get(&self, model: Option<&str>) -> Arc<str> {
        let Some(m) = model.filter(|m| !m.is_empty()) else {
            return self.none.clone();
        };
        if let Some(k) = self.known.load().get(m) {
            return k.clone();
        }
        {
            let seen = self.seen.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(k) = seen.get(m) {
                return k.clone();
            }
            if seen.len() >= self.max || m.len() > 128 {
                return self.other.clone();
            }
        }
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        // Another worker may have added it, or filled the set, meanwhile.
        if let Some(k) = seen.get(m) {
            return k.clone();
        }
        if seen.len() >= self.max {
            return self.other.clone();
        }
        let k: Arc<str> = Arc::from(m);
        seen.insert(k.clone());
        k
    }
}

impl ModelLabels {
    /// Names a reloaded config uses: they keep their own label value too.
    pub fn add_known(&self, models: impl IntoIterator<Item = String>) {
        let mut known = HashSet::clone(&self.known.load());
        known.extend(models.into_iter().map(Arc::from));
        self.known.store(Arc::new(known));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let l = ModelLabels::new(["gpt-4o".to_string()], 2);
        assert_eq!(&*l.get(Some("a")), "a");
        assert_eq!(&*l.get(Some("b")), "b");
        assert_eq!(&*l.get(Some("c")), OTHER);
        assert_eq!(&*l.get(Some("a")), "a");
        assert_eq!(&*l.get(Some("gpt-4o")), "gpt-4o");
        assert_eq!(&*l.get(None), NONE);
        // A reload's model keeps its name even once the set is full.
        assert_eq!(&*l.get(Some("claude-x")), OTHER);
        l.add_known(["claude-x".to_string()]);
        assert_eq!(&*l.get(Some("claude-x")), "claude-x");
        assert_eq!(&*l.get(Some("gpt-4o")), "gpt-4o");
    }

    #[test]
    fn bounded_across_threads() {
        // Eight workers see 50 names each, 20 shared: the bound holds for
        // all of them together, and every worker agrees on each name.
        let l = Arc::new(ModelLabels::new(Vec::new(), 25));
        let got: Vec<Vec<(String, Arc<str>)>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|t| {
                    let l = l.clone();
                    s.spawn(move || {
                        (0..50)
                            .map(|i| {
                                let name = if i < 20 {
                                    format!("m{i}")
                                } else {
                                    format!("t{t}-{i}")
                                };
                                let v = l.get(Some(&name));
                                (name, v)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut kept = HashSet::default();
        for (name, v) in got.iter().flatten() {
            assert!(&**v == name || &**v == OTHER, "{name} -> {v}");
            if &**v == name {
                kept.insert(name.clone());
            }
        }
        assert_eq!(kept.len(), 25);
        for (name, _) in got.iter().flatten() {
            let again = l.get(Some(name));
            assert_eq!(kept.contains(name), &*again == name, "{name}");
        }
    }
}
