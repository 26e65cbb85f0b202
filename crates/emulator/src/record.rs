//! Compact request records: one string buffer plus offsets, so recording a
//! request costs two allocations whatever the number of headers.

use http::{HeaderMap, Method, Uri};

use crate::RecordedRequest;

type Span = (u32, u32);

pub(crate) struct Record {
    method: Method,
    stream: bool,
    buf: String,
    path: Span,
    host: Option<Span>,
    model: Option<Span>,
    /// The credential and where it came from.
    credential: Option<(Span, &'static str)>,
    /// (name start, value start, value end); the name ends where the value starts.
    headers: Box<[(u32, u32, u32)]>,
}

fn push(buf: &mut String, s: &str) -> Span {
    let start = buf.len() as u32;
    buf.push_str(s);
    (start, buf.len() as u32)
}

impl Record {
    pub(crate) fn new(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        model: Option<&str>,
        stream: bool,
        credential: Option<(&str, &'static str)>,
    ) -> Self {
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = if headers.contains_key(http::header::HOST) {
            None
        } else {
            uri.authority().map(|a| a.as_str())
        };
        let mut cap = path_and_query.len()
            + model.map_or(0, str::len)
            + authority.map_or(0, str::len)
            + credential.map_or(0, |(t, _)| t.len());
        for (name, value) in headers {
            cap += name.as_str().len() + value.len();
        }
        let mut buf = String::with_capacity(cap);
        let path = push(&mut buf, path_and_query);
        let model = model.map(|m| push(&mut buf, m));
        let credential = credential.map(|(t, src)| (push(&mut buf, t), src));
        let mut host = authority.map(|a| push(&mut buf, a));
        let mut spans = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            let start = buf.len() as u32;
            buf.push_str(name.as_str());
            let vstart = buf.len() as u32;
            buf.push_str(&String::from_utf8_lossy(value.as_bytes()));
            let end = buf.len() as u32;
            if host.is_none() && name == http::header::HOST {
                host = Some((vstart, end));
            }
            spans.push((start, vstart, end));
        }
        Self {
            method: method.clone(),
            stream,
            buf,
            path,
            host,
            model,
            credential,
            headers: spans.into_boxed_slice(),
        }
    }

    fn get(&self, (a, b): Span) -> &str {
        self.buf.get(a as usize..b as usize).unwrap_or("")
    }

    fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers
            .iter()
            .map(|&(n, v, e)| (self.get((n, v)), self.get((v, e))))
    }

    pub(crate) fn to_recorded(&self) -> RecordedRequest {
        let cred = self.credential.map(|(span, src)| (self.get(span), src));
        RecordedRequest {
            method: self.method.as_str().to_owned(),
            path: self.get(self.path).to_owned(),
            host: self.host.map(|s| self.get(s).to_owned()),
            credential: cred.map(|(t, _)| t.to_owned()),
            auth_header: cred.map(|(_, h)| h.to_owned()),
            model: self.model.map(|s| self.get(s).to_owned()),
            stream: self.stream,
            headers: self
                .header_pairs()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}
