//! Glob patterns on model names: `*` matches any run of characters, `?`
//! exactly one; everything else matches itself.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix,
    Any,
    General,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    kind: Kind,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let wild = |c: char| c == '*' || c == '?';
        let kind = if pattern == "*" {
            Kind::Any
        } else if !pattern.contains(wild) {
            Kind::Exact
        } else if pattern.ends_with('*') && !pattern[..pattern.len() - 1].contains(wild) {
            Kind::Prefix
        } else {
            Kind::General
        };
        Glob {
            pattern: pattern.to_string(),
            kind,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern names exactly one model.
    pub fn is_literal(&self) -> bool {
        self.kind == Kind::Exact
    }

    pub fn matches(&self, s: &str) -> bool {
        match self.kind {
            Kind::Any => true,
            Kind::Exact => self.pattern == s,
            Kind::Prefix => s.starts_with(&self.pattern[..self.pattern.len() - 1]),
            Kind::General => wildcard(self.pattern.as_bytes(), s.as_bytes()),
        }
    }
}

/// Linear-time wildcard match with single-star backtracking.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            if p[pi] == b'?' {
                // `?` matches one character, not one byte.
                si += utf8_len(s[si]);
            } else {
                si += 1;
            }
            pi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            let next = ss + utf8_len(s[ss]);
            star = Some((sp, next));
            si = next;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn kinds() {
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("gpt-4o").matches("gpt-4o"));
        assert!(!Glob::new("gpt-4o").matches("gpt-4o-mini"));
        assert!(Glob::new("deepseek-*").matches("deepseek-chat"));
        assert!(Glob::new("deepseek-*").matches("deepseek-"));
        assert!(!Glob::new("deepseek-*").matches("deepseek"));
        assert!(Glob::new("*-mini").matches("gpt-4o-mini"));
        assert!(Glob::new("claude-*-sonnet*").matches("claude-3-5-sonnet-latest"));
        assert!(!Glob::new("claude-*-sonnet*").matches("claude-3-opus"));
        assert!(Glob::new("o?").matches("o1"));
        assert!(Glob::new("é?").matches("éü"));
        assert!(!Glob::new("o?").matches("o12"));
        assert!(Glob::new("a*b*c").matches("aXbYbZc"));
    }
}
