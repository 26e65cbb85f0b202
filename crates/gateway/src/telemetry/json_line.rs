//! A JSON object written field by field straight into a byte buffer: the
//! access line's writer. It does what `serde_json::to_writer` did for the
//! line (same escapes, same number forms) without building a struct of
//! owned strings first; the line is written for every request, so this
//! is on the telemetry worker's hot path.

/// One JSON object being written into `out`; [`Obj::end`] closes it.
pub struct Obj<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Obj<'o> {
    pub fn start(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        // Keys are the log's own field names: nothing to escape.
        debug_assert!(k.bytes().all(|b| ESCAPE[b as usize] == 0));
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        string(self.out, v);
        self
    }

    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    pub fn u64(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self
    }

    pub fn opt_u64(&mut self, k: &str, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.u64(k, v),
            None => self.null(k),
        }
    }

    /// As serde_json writes an `f64`: shortest round-trip form, `null` when
    /// not finite.
    pub fn f64(&mut self, k: &str, v: f64) -> &mut Self {
        self.key(k);
        number(self.out, v);
        self
    }

    /// A duration in milliseconds to the microsecond, written as `f64`
    /// would write `(secs * 1e6).round() / 1000` (`12.5`, `3.0`, `0.001`)
    /// but from integers: no float formatting per field.
    pub fn millis(&mut self, k: &str, d: std::time::Duration) -> &mut Self {
        self.key(k);
        // In u64: a u128 division costs a library call.
        let micros =
            d.as_secs().saturating_mul(1_000_000) + (u64::from(d.subsec_nanos()) + 500) / 1000;
        let mut digits = itoa::Buffer::new();
        self.out
            .extend_from_slice(digits.format(micros / 1000).as_bytes());
        self.out.push(b'.');
        let frac = (micros % 1000) as u16;
        if frac == 0 {
            self.out.push(b'0');
        } else {
            let text = [
                b'0' + (frac / 100) as u8,
                b'0' + (frac / 10 % 10) as u8,
                b'0' + (frac % 10) as u8,
            ];
            let keep = 3 - text.iter().rev().take_while(|&&b| b == b'0').count();
            self.out.extend_from_slice(&text[..keep]);
        }
        self
    }

    pub fn opt_millis(&mut self, k: &str, d: Option<std::time::Duration>) -> &mut Self {
        match d {
            Some(d) => self.millis(k, d),
            None => self.null(k),
        }
    }

    pub fn opt_f64(&mut self, k: &str, v: Option<f64>) -> &mut Self {
        match v {
            Some(v) => self.f64(k, v),
            None => self.null(k),
        }
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(b"null");
        self
    }

    /// A nested value written by `f` (an object or array of its own).
    pub fn with(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.key(k);
        f(self.out);
        self
    }

    pub fn end(&mut self) {
        self.out.push(b'}');
    }
}

fn number(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// What a byte becomes in a JSON string: 0 itself, else the letter after
/// the backslash (`u`: `\u00xx`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// `s` as a JSON string, escaped as serde_json escapes it: `"` `\` and the
/// control characters (short forms for \b \t \n \f \r, `\u00xx` for the
/// rest); everything else (UTF-8 included) is copied as is, in runs.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if e == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut samples: Vec<String> = [
            "",
            "plain",
            "quote \" and backslash \\",
            "tab\tnew\nline\rret",
            "\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "ünïcödé ✓ 𝄞",
            "</script>",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every byte value below 0x80, alone and between text.
        for b in 0u8..0x80 {
            samples.push(format!("a{}b", b as char));
        }
        for s in samples {
            let mut ours = Vec::new();
            string(&mut ours, &s);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn millis_as_the_float_would_be_written() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut samples: Vec<u64> = vec![
            0,
            1,
            499,
            500,
            501,
            999,
            1_000,
            1_499,
            1_500,
            10_000,
            120_000,
            999_999,
            1_000_000,
            123_456_789,
            86_400_000_000_000,
        ];
        samples.extend((0..2000).map(|_| rng.u64(..10_000_000_000)));
        for ns in samples {
            let d = std::time::Duration::from_nanos(ns);
            let mut a = Vec::new();
            Obj::start(&mut a).millis("d", d).end();
            let mut b = Vec::new();
            Obj::start(&mut b)
                .f64("d", (d.as_secs_f64() * 1_000_000.0).round() / 1000.0)
                .end();
            assert_eq!(
                String::from_utf8(a).unwrap(),
                String::from_utf8(b).unwrap(),
                "{ns} ns"
            );
        }
    }

    #[test]
    fn numbers_as_serde_json_writes_them() {
        // (Durations and costs: serde_json writes exponents as `1e+21`, ryu as
        // `1e21`; both are JSON and neither occurs in a line.)
        for v in [0.0, 1.0, 12.0, 0.5, 1.234, 0.000_125, 123456.789, -3.25] {
            let mut ours = Vec::new();
            number(&mut ours, v);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
        let mut ours = Vec::new();
        number(&mut ours, f64::NAN);
        assert_eq!(ours, b"null");
    }

    #[test]
    fn an_object_is_valid_json() {
        let mut out = Vec::new();
        Obj::start(&mut out)
            .str("a", "x\"y")
            .opt_str("b", None)
            .u64("c", 7)
            .f64("d", 1.5)
            .bool("e", true)
            .with("f", |o| o.extend_from_slice(b"[1,2]"))
            .end();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "x\"y", "b": null, "c": 7, "d": 1.5, "e": true, "f": [1, 2]})
        );
    }
}
