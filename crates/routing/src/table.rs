//! The ordered route table: the first route whose patterns match the
//! requested model serves it.

use crate::Glob;

#[derive(Clone, Debug)]
pub struct RouteTable<T> {
    routes: Vec<(Vec<Glob>, T)>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable { routes: Vec::new() }
    }
}

impl<T> RouteTable<T> {
    /// Add a route; no patterns means every model.
    pub fn push(&mut self, patterns: &[String], target: T) {
        let globs = patterns.iter().map(|p| Glob::new(p)).collect();
        self.routes.push((globs, target));
    }

    pub fn find(&self, model: &str) -> Option<&T> {
        self.routes
            .iter()
            .find(|(g, _)| g.is_empty() || g.iter().any(|g| g.matches(model)))
            .map(|(_, t)| t)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[Glob], &T)> {
        self.routes.iter().map(|(g, t)| (g.as_slice(), t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins() {
        let mut t = RouteTable::default();
        t.push(&["qwen-*".into()], "qwen");
        t.push(&["qwen-max".into(), "gpt-*".into()], "second");
        t.push(&[], "catch-all");
        assert_eq!(t.find("qwen-max"), Some(&"qwen"));
        assert_eq!(t.find("gpt-4o"), Some(&"second"));
        assert_eq!(t.find("anything"), Some(&"catch-all"));
        let mut t2: RouteTable<&str> = RouteTable::default();
        t2.push(&["a".into()], "a");
        assert_eq!(t2.find("b"), None);
    }
}
