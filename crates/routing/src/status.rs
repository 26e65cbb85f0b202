//! Status patterns (`failoverOnStatus`, `retryOnStatus`, fallback `onStatus`).
//!
//! A pattern is an exact code (`429`), a class (`4xx`), or a regular
//! expression as the reference gateway wrote them (`"4.*"`). Every pattern
//! is anchored to the whole three-digit status: `"4.*"` matches 400-499 and
//! never 504. Patterns are compiled once into a bitmap over 100-599, so a
//! lookup on the request path is one bit test.

use regex_lite::Regex;

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StatusSet {
    bits: [u64; 10],
}

impl std::fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codes: Vec<u16> = (100..600).filter(|s| self.contains(*s)).collect();
        write!(f, "StatusSet({} codes)", codes.len())
    }
}

impl StatusSet {
    pub const EMPTY: StatusSet = StatusSet { bits: [0; 10] };

    /// Compile patterns; the error names the pattern and says why.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<StatusSet, String> {
        let mut set = StatusSet::EMPTY;
        for p in patterns {
            let p = p.as_ref().trim();
            let bytes = p.as_bytes();
            if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_digit) {
                let code: u16 = p.parse().map_err(|_| format!("`{p}` is not a status"))?;
                if !(100..600).contains(&code) {
                    return Err(format!("`{p}` is not an HTTP status (100-599)"));
                }
                set.insert(code);
            } else if bytes.len() == 3
                && (b'1'..=b'5').contains(&bytes[0])
                && bytes[1..].eq_ignore_ascii_case(b"xx")
            {
                let base = u16::from(bytes[0] - b'0') * 100;
                (base..base + 100).for_each(|c| set.insert(c));
            } else {
                let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    format!(
                        "`{p}` is not a status pattern (use 429, 4xx or a regex such as 4.*): {e}"
                    )
                })?;
                let mut any = false;
                for code in 100u16..600 {
                    if re.is_match(&code.to_string()) {
                        set.insert(code);
                        any = true;
                    }
                }
                if !any {
                    return Err(format!("`{p}` matches no HTTP status"));
                }
            }
        }
        Ok(set)
    }

    fn insert(&mut self, code: u16) {
        let i = usize::from(code - 100);
        self.bits[i / 64] |= 1 << (i % 64);
    }

    pub fn contains(&self, code: u16) -> bool {
        if !(100..600).contains(&code) {
            return false;
        }
        let i = usize::from(code - 100);
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::StatusSet;

    #[test]
    fn anchored_patterns() {
        let s = StatusSet::parse(&["4.*"]).unwrap();
        assert!(s.contains(400) && s.contains(429) && s.contains(499));
        assert!(!s.contains(504), "4.* must not match 504");
        assert!(!s.contains(200));
        let s = StatusSet::parse(&["5xx", "429"]).unwrap();
        assert!(s.contains(500) && s.contains(599) && s.contains(429));
        assert!(!s.contains(428) && !s.contains(404));
        let s = StatusSet::parse(&["50[23]"]).unwrap();
        assert!(s.contains(502) && s.contains(503) && !s.contains(500));
        assert!(StatusSet::parse(&["("]).is_err());
        assert!(StatusSet::parse(&["999"]).is_err());
        assert!(StatusSet::parse(&["7.*"]).is_err());
        assert!(!StatusSet::EMPTY.contains(500));
    }
}
