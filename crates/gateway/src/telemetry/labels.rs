//! Bounded label values: a client can send any model name, and a route
//! that keeps the requested name forwards it; the `model` label must not
//! grow a series per name. The config's own model names always keep
//! theirs; the first `max` others seen keep theirs; later ones are `other`.

use std::collections::HashSet;
use std::sync::Arc;

pub const OTHER: &str = "other";
pub const NONE: &str = "none";

pub struct ModelLabels {
    known: HashSet<Arc<str>>,
    seen: HashSet<Arc<str>>,
    max: usize,
    other: Arc<str>,
    none: Arc<str>,
}

impl ModelLabels {
    pub fn new(known: impl IntoIterator<Item = String>, max: usize) -> Self {
        ModelLabels {
            known: known.into_iter().map(Arc::from).collect(),
            seen: HashSet::new(),
            max,
            other: Arc::from(OTHER),
            none: Arc::from(NONE),
        }
    }

    /// The label value for `model` (`none` when there is no model).
    pub fn get(&mut self, model: Option<&str>) -> Arc<str> {
        let Some(m) = model.filter(|m| !m.is_empty()) else {
            return self.none.clone();
        };
        if let Some(k) = self.known.get(m) {
            return k.clone();
        }
        if let Some(k) = self.seen.get(m) {
            return k.clone();
        }
        if self.seen.len() >= self.max || m.len() > 128 {
            return self.other.clone();
        }
        let k: Arc<str> = Arc::from(m);
        self.seen.insert(k.clone());
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let mut l = ModelLabels::new(["gpt-4o".to_string()], 2);
        assert_eq!(&*l.get(Some("a")), "a");
        assert_eq!(&*l.get(Some("b")), "b");
        assert_eq!(&*l.get(Some("c")), OTHER);
        assert_eq!(&*l.get(Some("a")), "a");
        assert_eq!(&*l.get(Some("gpt-4o")), "gpt-4o");
        assert_eq!(&*l.get(None), NONE);
    }
}
