//! `modelMapping`: the requested model name to the name sent upstream.
//!
//! Rules are tried in a fixed order, so overlapping rules always resolve the
//! same way: the exact key; then `prefix*` keys, longest prefix first; then
//! `~regex` keys in the order written (the value may use `$1`, `${name}`);
//! then `"*"`. A value of `""` keeps the requested name. No matching rule
//! also keeps it.

use std::borrow::Cow;
use std::collections::HashMap;

use regex_lite::Regex;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingError {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for MappingError {}

#[derive(Clone, Debug, Default)]
pub struct ModelMapper {
    exact: HashMap<String, String>,
    /// Sorted by prefix length, longest first.
    prefixes: Vec<(String, String)>,
    regexes: Vec<(Regex, String)>,
    wildcard: Option<String>,
}

impl ModelMapper {
    pub fn new(rules: &[(String, String)]) -> Result<ModelMapper, MappingError> {
        let mut m = ModelMapper::default();
        for (key, value) in rules {
            let fail = |message: String| MappingError {
                key: key.clone(),
                message,
            };
            if key.is_empty() {
                return Err(fail(
                    "an empty key matches nothing; use \"*\" for every model".into(),
                ));
            }
            if key == "*" {
                m.wildcard = Some(value.clone());
            } else if let Some(re) = key.strip_prefix('~') {
                let regex =
                    Regex::new(re).map_err(|e| fail(format!("invalid regular expression: {e}")))?;
                m.regexes.push((regex, value.clone()));
            } else if let Some(prefix) = key.strip_suffix('*') {
                if prefix.contains('*') {
                    return Err(fail(
                        "`*` is allowed only at the end of a key (or use a `~regex` key)".into(),
                    ));
                }
                m.prefixes.push((prefix.to_string(), value.clone()));
            } else if key.contains('*') {
                return Err(fail(
                    "`*` is allowed only at the end of a key (or use a `~regex` key)".into(),
                ));
            } else {
                m.exact.insert(key.clone(), value.clone());
            }
        }
        // Stable sort: equal lengths cannot collide (keys are unique).
        m.prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        Ok(m)
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.prefixes.is_empty()
            && self.regexes.is_empty()
            && self.wildcard.is_none()
    }

    /// Exact keys, for listing the models a provider serves.
    pub fn exact_keys(&self) -> impl Iterator<Item = &str> {
        self.exact.keys().map(String::as_str)
    }

    /// The upstream model name for `model`.
    pub fn map<'a>(&'a self, model: &'a str) -> Cow<'a, str> {
        let keep_or = |v: &'a String| -> Cow<'a, str> {
            if v.is_empty() {
                Cow::Borrowed(model)
            } else {
                Cow::Borrowed(v.as_str())
            }
        };
        if let Some(v) = self.exact.get(model) {
            return keep_or(v);
        }
        if let Some((_, v)) = self
            .prefixes
            .iter()
            .find(|(p, _)| model.starts_with(p.as_str()))
        {
            return keep_or(v);
        }
        for (re, v) in &self.regexes {
            if let Some(caps) = re.captures(model) {
                if v.is_empty() {
                    return Cow::Borrowed(model);
                }
                let mut out = String::new();
                caps.expand(v, &mut out);
                return Cow::Owned(out);
            }
        }
        match &self.wildcard {
            Some(v) => keep_or(v),
            None => Cow::Borrowed(model),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper(rules: &[(&str, &str)]) -> ModelMapper {
        let r: Vec<_> = rules
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ModelMapper::new(&r).unwrap()
    }

    #[test]
    fn precedence() {
        let m = mapper(&[
            ("*", "fallback"),
            ("~^gpt-(.*)$", "re-$1"),
            ("gpt-*", "short-prefix"),
            ("gpt-4*", "long-prefix"),
            ("gpt-4o", "exact"),
            ("keep", ""),
            ("~^o(\\d)$", "deepseek-r$1"),
            ("~^o(\\d)", "never-second"),
        ]);
        assert_eq!(m.map("gpt-4o"), "exact");
        assert_eq!(m.map("gpt-4-turbo"), "long-prefix");
        assert_eq!(m.map("gpt-3.5"), "short-prefix");
        assert_eq!(m.map("o1"), "deepseek-r1");
        assert_eq!(m.map("o3x"), "never-second");
        assert_eq!(m.map("keep"), "keep");
        assert_eq!(m.map("claude"), "fallback");
        // Determinism: the same answer every time, whatever hashing does.
        for _ in 0..100 {
            assert_eq!(m.map("gpt-4-turbo"), "long-prefix");
        }
    }

    #[test]
    fn no_rule_keeps_model_and_empty_wildcard_keeps() {
        assert_eq!(mapper(&[("a", "b")]).map("x"), "x");
        assert_eq!(mapper(&[("*", "")]).map("x"), "x");
    }

    #[test]
    fn invalid_keys() {
        assert!(ModelMapper::new(&[("~(".into(), "x".into())]).is_err());
        assert!(ModelMapper::new(&[("a*b".into(), "x".into())]).is_err());
        assert!(ModelMapper::new(&[("".into(), "x".into())]).is_err());
    }
}
