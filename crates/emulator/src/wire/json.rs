//! Hand-written JSON output: the `Out` writer and the OpenAI error body.

use bytes::Bytes;

pub(crate) struct Out(pub Vec<u8>);

impl Out {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    #[inline]
    pub(crate) fn raw(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    #[inline]
    pub(crate) fn bytes(&mut self, s: &[u8]) -> &mut Self {
        self.0.extend_from_slice(s);
        self
    }

    /// A quoted, escaped JSON string.
    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.0.reserve(s.len() + 2);
            self.0.push(b'"');
            self.0.extend_from_slice(s.as_bytes());
            self.0.push(b'"');
        } else {
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.0, s);
        }
        self
    }

    pub(crate) fn num(&mut self, mut n: u64) -> &mut Self {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.0.extend_from_slice(&buf[i..]);
        self
    }

    pub(crate) fn float(&mut self, f: f32) -> &mut Self {
        let _ = serde_json::to_writer(&mut self.0, &f);
        self
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn into_bytes(self) -> Bytes {
        Bytes::from(self.0)
    }
}

/// `{"error":{"message":...,"type":...,"param":...,"code":...}}`
pub(crate) fn error_body(
    message: &str,
    ty: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Bytes {
    let mut o = Out::with_capacity(message.len() + 96);
    o.raw("{\"error\":{\"message\":")
        .str(message)
        .raw(",\"type\":")
        .str(ty)
        .raw(",\"param\":");
    match param {
        Some(p) => o.str(p),
        None => o.raw("null"),
    };
    o.raw(",\"code\":");
    match code {
        Some(c) => o.str(c),
        None => o.raw("null"),
    };
    o.raw("}}");
    o.into_bytes()
}
