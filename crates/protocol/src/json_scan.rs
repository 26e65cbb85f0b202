//! One pass over a JSON object that checks it is valid and notes where some
//! of its top-level values lie: the fast path of [`crate::RequestView`].
//!
//! A request's bulk is its strings (prompts, documents, base64 images).
//! serde_json's scan looks at every byte of a string eight at a time; here a
//! string is crossed with `memchr2` (the next quote or backslash, 32 bytes
//! at a time) and then checked for raw control characters in one tight
//! loop. The 1 MiB prompt lane spent a quarter of its time in serde's scan.
//!
//! The scan answers only when it is sure: it accepts a subset of what
//! serde_json accepts, and says `None` for anything else (a key with an
//! escape, a key twice, deep nesting, any error), so the caller falls back
//! to serde_json, whose verdict and message stand. The tests hold the two
//! to the same answer on valid and broken documents.

use std::ops::Range;

use memchr::memchr2;

/// Nesting deeper than this goes to serde_json (whose limit is 127).
const MAX_DEPTH: usize = 100;

/// Where the wanted top-level values lie (each the value's bytes, as
/// serde's `RawValue` would hold them).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub model: Option<Range<usize>>,
    pub stream: Option<Range<usize>>,
    pub stream_options: Option<Range<usize>>,
}

/// Scan `body` (valid UTF-8, checked by the caller): `Some` when it is one
/// JSON object and nothing else, with the values of `model`, `stream` and
/// `stream_options`; `None` when serde_json must decide.
pub fn top_level(body: &[u8]) -> Option<Found> {
    let mut s = Scanner { b: body, at: 0 };
    let mut found = Found::default();
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.peek()? == b'}' {
        s.at += 1;
    } else {
        loop {
            let key = s.key()?;
            s.ws();
            s.eat(b':')?;
            s.ws();
            let start = s.at;
            s.value()?;
            let slot = match key {
                b"model" => Some(&mut found.model),
                b"stream" => Some(&mut found.stream),
                b"stream_options" => Some(&mut found.stream_options),
                _ => None,
            };
            if let Some(slot) = slot {
                if slot.is_some() {
                    // serde refuses a field twice: let it say so.
                    return None;
                }
                *slot = Some(start..s.at);
            }
            s.ws();
            match s.next()? {
                b',' => s.ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.ws();
    (s.at == body.len()).then_some(found)
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// JSON's four whitespace bytes (not form feed, not vertical tab).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// A key without escapes: its bytes, quotes excluded.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.at;
        let len = memchr2(b'"', b'\\', &self.b[start..])?;
        let b: &'a [u8] = self.b;
        let key = &b[start..start + len];
        if self.b[start + len] != b'"' || has_control(key) {
            return None;
        }
        self.at = start + len + 1;
        Some(key)
    }

    /// The rest of a string whose opening quote is taken.
    fn string(&mut self) -> Option<()> {
        loop {
            let rest = &self.b[self.at..];
            let len = memchr2(b'"', b'\\', rest)?;
            if has_control(&rest[..len]) {
                return None;
            }
            self.at += len + 1;
            if rest[len] == b'"' {
                return Some(());
            }
            match self.next()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    let hex = self.b.get(self.at..self.at + 4)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.at += 4;
                }
                _ => return None,
            }
        }
    }

    /// One value of any kind, arrays and objects walked with an explicit
    /// stack of what encloses (bounded by [`MAX_DEPTH`]).
    fn value(&mut self) -> Option<()> {
        // The containers open around the current value: `[` or `{`.
        let mut open = [0u8; MAX_DEPTH];
        let mut depth = 0usize;
        loop {
            // A value.
            match self.next()? {
                b'"' => self.string()?,
                b'{' | b'[' if depth + 1 >= MAX_DEPTH => return None,
                b'{' => {
                    self.ws();
                    if self.peek()? == b'}' {
                        self.at += 1;
                    } else {
                        open[depth] = b'{';
                        depth += 1;
                        self.member_key()?;
                        continue;
                    }
                }
                b'[' => {
                    self.ws();
                    if self.peek()? == b']' {
                        self.at += 1;
                    } else {
                        open[depth] = b'[';
                        depth += 1;
                        continue;
                    }
                }
                b't' => self.literal(b"rue")?,
                b'f' => self.literal(b"alse")?,
                b'n' => self.literal(b"ull")?,
                c @ (b'-' | b'0'..=b'9') => self.number(c)?,
                _ => return None,
            }
            // After a value: close what ends here, or go on to the next.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.ws();
                match (self.next()?, open[depth - 1]) {
                    (b',', b'{') => {
                        self.ws();
                        self.member_key()?;
                        break;
                    }
                    (b',', _) => {
                        self.ws();
                        break;
                    }
                    (b'}', b'{') | (b']', b'[') => depth -= 1,
                    _ => return None,
                }
            }
        }
    }

    /// `"key":` inside an object, leaving the scanner at its value.
    fn member_key(&mut self) -> Option<()> {
        self.eat(b'"')?;
        self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    fn literal(&mut self, rest: &[u8]) -> Option<()> {
        if !self.b[self.at..].starts_with(rest) {
            return None;
        }
        self.at += rest.len();
        Some(())
    }

    /// A number whose first byte `first` is taken: `-? (0 | [1-9][0-9]*)
    /// (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self, first: u8) -> Option<()> {
        let lead = if first == b'-' { self.next()? } else { first };
        match lead {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
    }
}

/// A raw control character (U+0000 to U+001F), which JSON strings may not
/// hold unescaped.
fn has_control(s: &[u8]) -> bool {
    // Branch-free over the slice, so the compiler can take it 16 bytes at
    // a time.
    s.iter().fold(false, |acc, &b| acc | (b < 0x20))
}

#[cfg(test)]
mod tests;
