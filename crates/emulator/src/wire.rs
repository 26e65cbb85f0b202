//! OpenAI wire format: borrowed request parsing and hand-written JSON output.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

/// The scheme of an AWS Signature Version 4 `Authorization` header.
pub(crate) const SIGV4: &str = "AWS4-HMAC-SHA256";

/// Whether an `Authorization` value is an AWS SigV4 signature.
pub(crate) fn is_sigv4(v: &str) -> bool {
    let v = v.trim_start();
    v.len() > SIGV4.len()
        && v.as_bytes()[..SIGV4.len()].eq_ignore_ascii_case(SIGV4.as_bytes())
        && v.as_bytes()[SIGV4.len()].is_ascii_whitespace()
}

/// The access key id in `AWS4-HMAC-SHA256 Credential=<AKID>/<date>/...`
/// (`""` when there is no `Credential=`). The signature is not verified.
fn sigv4_access_key(v: &str) -> &str {
    let rest = &v.trim_start()[SIGV4.len()..];
    rest.split([',', ' ', '\t'])
        .find_map(|kv| kv.trim().strip_prefix("Credential="))
        .map_or("", |c| c.split('/').next().unwrap_or("").trim())
}

/// Finds the credential with the documented header order. `get` looks a
/// header up by its lowercase name. Empty tokens count as absent. For an AWS
/// SigV4 `Authorization` header the token is the access key id.
pub(crate) fn find_credential<'a>(
    get: impl Fn(&'static str) -> Option<&'a str>,
) -> Option<(&'a str, &'static str)> {
    if let Some(v) = get("authorization") {
        let v = v.trim();
        let token = if v.eq_ignore_ascii_case("bearer") {
            ""
        } else if v.len() >= 7 && v.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
            v[7..].trim_start()
        } else if is_sigv4(v) {
            sigv4_access_key(v)
        } else {
            v
        };
        if !token.is_empty() {
            return Some((token, "authorization"));
        }
    }
    for name in ["api-key", "x-api-key", "x-goog-api-key"] {
        if let Some(v) = get(name) {
            let v = v.trim();
            if !v.is_empty() {
                return Some((v, name));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Request parsing (borrowed, unknown fields ignored)
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(crate) struct ApiRequest<'a> {
    #[serde(borrow)]
    pub model: Option<Text<'a>>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    #[serde(borrow)]
    pub messages: Option<Vec<Message<'a>>>,
    #[serde(borrow)]
    pub prompt: Option<TextList<'a>>,
    #[serde(borrow)]
    pub input: Option<TextList<'a>>,
    pub max_tokens: Option<u64>,
    pub max_completion_tokens: Option<u64>,
    #[serde(borrow)]
    pub tools: Option<Vec<Tool<'a>>>,
}

/// `{"type":"function","function":{"name","parameters"}}`
#[derive(Deserialize)]
pub(crate) struct Tool<'a> {
    #[serde(borrow)]
    pub function: Option<Function<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct Function<'a> {
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub parameters: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize, Default)]
pub(crate) struct StreamOptions {
    pub include_usage: Option<bool>,
}

#[derive(Deserialize)]
pub(crate) struct Message<'a> {
    #[serde(borrow)]
    pub role: Option<Text<'a>>,
    #[serde(borrow)]
    pub content: Option<Content<'a>>,
}

impl ApiRequest<'_> {
    pub(crate) fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    pub(crate) fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The smaller of `max_tokens` / `max_completion_tokens` when given.
    pub(crate) fn max_tokens(&self) -> Option<u64> {
        match (self.max_tokens, self.max_completion_tokens) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A string that borrows from the request body when it has no escapes.
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Message content: a string, an array of parts (text parts are joined with a
/// space, other parts ignored) or null.
pub(crate) struct Content<'a>(pub Cow<'a, str>);

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Content<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an array of content parts or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Content(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Content(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Content(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Content(Cow::Borrowed("")))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Content(Cow::Borrowed("")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut acc: Option<Cow<'de, str>> = None;
                while let Some(part) = seq.next_element::<Part<'de>>()? {
                    let Some(Text(t)) = part.text else { continue };
                    acc = Some(match acc {
                        None => t,
                        Some(prev) => {
                            let mut s = prev.into_owned();
                            s.push(' ');
                            s.push_str(&t);
                            Cow::Owned(s)
                        }
                    });
                }
                Ok(Content(acc.unwrap_or(Cow::Borrowed(""))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Content(Cow::Borrowed("")))
            }
        }
        d.deserialize_any(V)
    }
}

/// One prompt / embedding input: text or pre-tokenized ids.
pub(crate) enum Item<'a> {
    Text(Cow<'a, str>),
    Tokens(u64),
}

impl Item<'_> {
    fn tokens(&self) -> u64 {
        match self {
            Item::Text(t) => (t.len() as u64).div_ceil(4),
            Item::Tokens(n) => *n,
        }
    }
}

/// `prompt` / `input`: a string, an array of strings, an array of token ids
/// or an array of arrays of token ids.
pub(crate) struct TextList<'a>(pub Vec<Item<'a>>);

enum Elem<'a> {
    Text(Cow<'a, str>),
    Token,
    Tokens(u64),
}

impl<'de: 'a, 'a> Deserialize<'de> for Elem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Elem<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a token id or an array of token ids")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Elem::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Elem::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Elem::Text(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Elem::Token)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Elem::Token)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Elem::Tokens(n))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for TextList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TextList<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TextList(vec![Item::Text(Cow::Borrowed(v))]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TextList(vec![Item::Text(Cow::Owned(v.to_owned()))]))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(TextList(vec![Item::Text(Cow::Owned(v))]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                // A run of bare token ids is one tokenized prompt.
                let mut run = 0;
                while let Some(e) = seq.next_element::<Elem<'de>>()? {
                    match e {
                        Elem::Token => run += 1,
                        other => {
                            if run > 0 {
                                items.push(Item::Tokens(run));
                                run = 0;
                            }
                            items.push(match other {
                                Elem::Text(t) => Item::Text(t),
                                Elem::Tokens(n) => Item::Tokens(n),
                                Elem::Token => Item::Tokens(1),
                            });
                        }
                    }
                }
                if run > 0 {
                    items.push(Item::Tokens(run));
                }
                Ok(TextList(items))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Token estimates and the answer text
// ---------------------------------------------------------------------------

/// About (total chars of message contents)/4 + 4 per message, at least 1.
pub(crate) fn chat_prompt_tokens(messages: &[Message<'_>]) -> u64 {
    let chars: usize = messages
        .iter()
        .map(|m| m.content.as_ref().map_or(0, |c| c.0.len()))
        .sum();
    (chars as u64 / 4 + 4 * messages.len() as u64).max(1)
}

pub(crate) fn list_tokens(items: &[Item<'_>]) -> u64 {
    items.iter().map(Item::tokens).sum::<u64>().max(1)
}

/// The text of the last user message (or of the last message).
pub(crate) fn chat_echo<'s>(messages: &'s [Message<'_>]) -> &'s str {
    messages
        .iter()
        .rev()
        .find(|m| m.role.as_ref().is_some_and(|r| r.0 == "user"))
        .or_else(|| messages.last())
        .and_then(|m| m.content.as_ref())
        .map_or("", |c| &c.0)
}

/// A chat tool call: the first declared function, with sample arguments.
pub(crate) struct ToolCall {
    pub id: [u8; 16],
    pub name: String,
    /// Compact JSON object.
    pub arguments: String,
}

impl ToolCall {
    /// About (name + arguments)/4, as for the native formats.
    pub(crate) fn tokens(&self) -> u64 {
        ((self.name.len() + self.arguments.len()) as u64).div_ceil(4)
    }
}

/// The chat answer, with the tool rules shared by every format:
/// - the conversation ends with `tool` messages: `Tool said: <first 40 chars
///   of the first of them>`;
/// - else functions are declared and the last message is the user's: the text
///   `Calling <name>.` plus a call of the first function (finish reason
///   `tool_calls`);
/// - else the echo answer.
pub(crate) fn chat_reply(req: &ApiRequest<'_>) -> (Answer, Option<ToolCall>) {
    let all = req.messages.as_deref().unwrap_or(&[]);
    fn role<'m>(m: &'m Message<'_>) -> &'m str {
        m.role.as_ref().map_or("", |r| &r.0)
    }
    // Trailing `system` / `developer` messages (instructions inserted after
    // the user's turn, as Claude Code does) do not end the turn.
    let end = all
        .iter()
        .rposition(|m| !matches!(role(m), "system" | "developer"))
        .map_or(0, |i| i + 1);
    let messages = &all[..end];
    if messages.last().is_some_and(|m| role(m) == "tool") {
        let first = messages
            .iter()
            .rposition(|m| role(m) != "tool")
            .map_or(0, |i| i + 1);
        let result = messages
            .get(first)
            .and_then(|m| m.content.as_ref())
            .map_or("", |c| &c.0);
        return (
            Answer::with_prefix("Tool said:", result, req.max_tokens()),
            None,
        );
    }
    let function = req
        .tools
        .iter()
        .flatten()
        .filter_map(|t| t.function.as_ref())
        .find(|f| f.name.is_some());
    if let (Some(f), Some("user")) = (function, messages.last().map(role)) {
        let name = f.name.as_ref().map_or("", |n| &n.0);
        let mut answer = Answer::plain(format!("Calling {name}."));
        answer.finish = "tool_calls";
        let call = ToolCall {
            id: next_id(),
            name: name.to_owned(),
            arguments: crate::native::tool_input(f.parameters),
        };
        return (answer, Some(call));
    }
    (Answer::new(chat_echo(all), req.max_tokens()), None)
}

pub(crate) fn list_echo<'s>(items: &'s [Item<'_>]) -> &'s str {
    match items.last() {
        Some(Item::Text(t)) => t,
        _ => "",
    }
}

const GREETING: &str = "Hello from the Switchyard emulator. You said:";

/// The deterministic answer: words separated by single spaces.
pub(crate) struct Answer {
    pub text: String,
    pub words: u64,
    pub finish: &'static str,
}

impl Answer {
    /// `GREETING` + the first 40 chars of `echo` (whitespace collapsed),
    /// truncated to `max_tokens` words (finish reason `length`).
    pub(crate) fn new(echo: &str, max_tokens: Option<u64>) -> Self {
        Self::with_prefix(GREETING, echo, max_tokens)
    }

    /// A text used as is (no truncation): words are counted by spaces.
    pub(crate) fn plain(text: String) -> Self {
        let words = text.bytes().filter(|&b| b == b' ').count() as u64 + 1;
        Self {
            text,
            words,
            finish: "stop",
        }
    }

    /// `prefix` + the first 40 chars of `echo` (whitespace collapsed),
    /// truncated to `max_tokens` words (finish reason `length`).
    pub(crate) fn with_prefix(prefix: &str, echo: &str, max_tokens: Option<u64>) -> Self {
        let mut text = String::with_capacity(prefix.len() + 48);
        text.push_str(prefix);
        let mut pending_space = true;
        for c in echo.chars().take(40) {
            if c.is_whitespace() {
                pending_space = true;
            } else {
                if pending_space {
                    text.push(' ');
                    pending_space = false;
                }
                text.push(c);
            }
        }
        let mut words = text.bytes().filter(|&b| b == b' ').count() as u64 + 1;
        let mut finish = "stop";
        if let Some(max) = max_tokens {
            let max = max.max(1);
            if words > max {
                // Cut before the space that starts word number `max`.
                if let Some((idx, _)) = text.match_indices(' ').nth((max - 1) as usize) {
                    text.truncate(idx);
                }
                words = max;
                finish = "length";
            }
        }
        Self {
            text,
            words,
            finish,
        }
    }

    /// Splits the text into `n` pieces at word boundaries (some may be empty
    /// when there are fewer words than pieces). Concatenated they give `text`.
    pub(crate) fn pieces(&self, n: usize) -> impl Iterator<Item = &str> + '_ {
        let n = n.max(1);
        let mut bounds = Vec::with_capacity(self.words as usize + 1);
        bounds.push(0);
        bounds.extend(self.text.match_indices(' ').map(|(i, _)| i));
        bounds.push(self.text.len());
        let k = bounds.len() - 1;
        (0..n).map(move |j| {
            let a = bounds[j * k / n];
            let b = bounds[(j + 1) * k / n];
            self.text.get(a..b).unwrap_or("")
        })
    }
}

/// Minimal `%XX` decoding (URL path segments, query values, control paths).
/// `+` is kept as is; invalid escapes are kept verbatim.
pub(crate) fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

// ---------------------------------------------------------------------------
// Ids and time
// ---------------------------------------------------------------------------

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A process-unique id as 16 lowercase hex digits.
pub(crate) fn next_id() -> [u8; 16] {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        splitmix(nanos ^ u64::from(std::process::id()))
    });
    // splitmix is a bijection, so distinct counters give distinct ids.
    let v = splitmix(seed.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed)));
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let nib = ((v >> (60 - 4 * i)) & 0xf) as u8;
        *o = if nib < 10 {
            b'0' + nib
        } else {
            b'a' + nib - 10
        };
    }
    out
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---------------------------------------------------------------------------
// JSON output
// ---------------------------------------------------------------------------

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

fn usage(o: &mut Out, prompt: u64, completion: u64) {
    o.raw("{\"prompt_tokens\":")
        .num(prompt)
        .raw(",\"completion_tokens\":")
        .num(completion)
        .raw(",\"total_tokens\":")
        .num(prompt + completion)
        .raw("}");
}

/// Common data of one response.
pub(crate) struct Meta<'a> {
    pub id: &'a [u8; 16],
    pub created: u64,
    pub model: &'a str,
    pub prompt_tokens: u64,
    /// Report token usage (`false` for [`crate::Behaviour::NoUsage`]): no
    /// `usage` field, no usage chunk even when the client asked for one.
    pub usage: bool,
}

pub(crate) fn chat_completion(m: &Meta<'_>, a: &Answer, call: Option<&ToolCall>) -> Bytes {
    let mut o = Out::with_capacity(320 + a.text.len() + m.model.len());
    o.raw("{\"id\":\"chatcmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"chat.completion\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":")
        .str(&a.text)
        .raw(",\"refusal\":null");
    if let Some(c) = call {
        o.raw(",\"tool_calls\":[{\"id\":\"call_")
            .bytes(&c.id)
            .raw("\",\"type\":\"function\",\"function\":{\"name\":")
            .str(&c.name)
            .raw(",\"arguments\":")
            .str(&c.arguments)
            .raw("}}]");
    }
    o.raw("},\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]");
    if m.usage {
        o.raw(",\"usage\":");
        usage(
            &mut o,
            m.prompt_tokens,
            a.words + call.map_or(0, ToolCall::tokens),
        );
    }
    o.raw(",\"system_fingerprint\":\"fp_emulator\"}");
    o.into_bytes()
}

pub(crate) fn text_completion(m: &Meta<'_>, a: &Answer) -> Bytes {
    let mut o = Out::with_capacity(256 + a.text.len() + m.model.len());
    o.raw("{\"id\":\"cmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"text_completion\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"choices\":[{\"text\":")
        .str(&a.text)
        .raw(",\"index\":0,\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]");
    if m.usage {
        o.raw(",\"usage\":");
        usage(&mut o, m.prompt_tokens, a.words);
    }
    o.raw(",\"system_fingerprint\":\"fp_emulator\"}");
    o.into_bytes()
}

/// A whole SSE stream in one buffer plus the end offset of every event.
pub(crate) struct Sse {
    pub data: Bytes,
    pub ends: Vec<usize>,
}

/// Streamed chat: role chunk, `chunks` content chunks, [tool call chunk +
/// 2-3 argument chunks], finish chunk, usage chunk (when `include_usage` and
/// `m.usage`), `[DONE]`.
pub(crate) fn chat_stream(
    m: &Meta<'_>,
    a: &Answer,
    call: Option<&ToolCall>,
    chunks: usize,
    include_usage: bool,
) -> Sse {
    let mut head = Out::with_capacity(128 + m.model.len());
    head.raw("data: {\"id\":\"chatcmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"chat.completion.chunk\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"system_fingerprint\":\"fp_emulator\",\"choices\":[");
    let head = head.0;
    let per = head.len() + 80;
    let mut o = Out::with_capacity(per * (chunks + 4) + a.text.len() + 64);
    let mut ends = Vec::with_capacity(chunks + 4);

    o.bytes(&head).raw(
        "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    );
    ends.push(o.len());
    for piece in a.pieces(chunks) {
        o.bytes(&head)
            .raw("{\"index\":0,\"delta\":{\"content\":")
            .str(piece)
            .raw("},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        ends.push(o.len());
    }
    if let Some(c) = call {
        o.bytes(&head)
            .raw("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_")
            .bytes(&c.id)
            .raw("\",\"type\":\"function\",\"function\":{\"name\":")
            .str(&c.name)
            .raw(",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        ends.push(o.len());
        for frag in crate::native::split_json(&c.arguments) {
            o.bytes(&head)
                .raw("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":")
                .str(frag)
                .raw("}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
            ends.push(o.len());
        }
    }
    o.bytes(&head)
        .raw("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]}\n\n");
    ends.push(o.len());
    if include_usage && m.usage {
        o.bytes(&head).raw("],\"usage\":");
        usage(
            &mut o,
            m.prompt_tokens,
            a.words + call.map_or(0, ToolCall::tokens),
        );
        o.raw("}\n\n");
        ends.push(o.len());
    }
    o.raw("data: [DONE]\n\n");
    ends.push(o.len());
    Sse {
        data: o.into_bytes(),
        ends,
    }
}

/// Streamed legacy completion: `chunks` text chunks, finish chunk, usage
/// chunk (when `include_usage` and `m.usage`), `[DONE]`.
pub(crate) fn text_stream(m: &Meta<'_>, a: &Answer, chunks: usize, include_usage: bool) -> Sse {
    let mut head = Out::with_capacity(128 + m.model.len());
    head.raw("data: {\"id\":\"cmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"text_completion\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"system_fingerprint\":\"fp_emulator\",\"choices\":[");
    let head = head.0;
    let per = head.len() + 80;
    let mut o = Out::with_capacity(per * (chunks + 3) + a.text.len() + 64);
    let mut ends = Vec::with_capacity(chunks + 3);
    for piece in a.pieces(chunks) {
        o.bytes(&head)
            .raw("{\"text\":")
            .str(piece)
            .raw(",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        ends.push(o.len());
    }
    o.bytes(&head)
        .raw("{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]}\n\n");
    ends.push(o.len());
    if include_usage && m.usage {
        o.bytes(&head).raw("],\"usage\":");
        usage(&mut o, m.prompt_tokens, a.words);
        o.raw("}\n\n");
        ends.push(o.len());
    }
    o.raw("data: [DONE]\n\n");
    ends.push(o.len());
    Sse {
        data: o.into_bytes(),
        ends,
    }
}

/// 8 deterministic floats of unit length derived from the input.
fn embedding(o: &mut Out, item: &Item<'_>) {
    // FNV-1a over the text (or the token count), then splitmix.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    match item {
        Item::Text(t) => {
            for b in t.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        Item::Tokens(n) => h ^= *n,
    }
    let mut v = [0f32; 8];
    for (i, x) in v.iter_mut().enumerate() {
        let r = splitmix(h.wrapping_add(i as u64));
        // Uniform in [-1, 1).
        *x = ((r >> 40) as f32 / (1u64 << 23) as f32) - 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    o.raw("[");
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            o.raw(",");
        }
        o.float(x / norm);
    }
    o.raw("]");
}

/// The `list` of embeddings; `usage: false` leaves out the `usage` field.
pub(crate) fn embeddings(model: &str, items: &[Item<'_>], usage: bool) -> Bytes {
    let mut o = Out::with_capacity(128 + model.len() + items.len() * 160);
    o.raw("{\"object\":\"list\",\"data\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            o.raw(",");
        }
        o.raw("{\"object\":\"embedding\",\"index\":")
            .num(i as u64)
            .raw(",\"embedding\":");
        embedding(&mut o, item);
        o.raw("}");
    }
    o.raw("],\"model\":").str(model);
    if usage {
        let p = list_tokens(items);
        o.raw(",\"usage\":{\"prompt_tokens\":")
            .num(p)
            .raw(",\"total_tokens\":")
            .num(p)
            .raw("}");
    }
    o.raw("}");
    o.into_bytes()
}

pub(crate) const MODELS: &[&str] = &[
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o3-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    // For routes by pattern (`qwen-*`, `mock-*`): listed by the gateway's
    // `GET /v1/models` only through the provider's own list.
    "qwen-plus",
    "qwen-flash",
    "mock-small",
    "mock-large",
];

pub(crate) fn models_body() -> Bytes {
    let mut o = Out::with_capacity(1024);
    o.raw("{\"object\":\"list\",\"data\":[");
    for (i, id) in MODELS.iter().enumerate() {
        if i > 0 {
            o.raw(",");
        }
        o.raw("{\"id\":")
            .str(id)
            .raw(",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"emulator\"}");
    }
    o.raw("]}");
    o.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_borrowed_and_ignores_unknown() {
        let body = br#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},
            "messages":[{"role":"system","content":"be nice","name":"x"},
            {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"there"}]},
            {"role":"assistant","content":null,"tool_calls":[]}],
            "tools":[{"a":1}],"n":2,"max_tokens":5,"temperature":0.2}"#;
        let r: ApiRequest<'_> = serde_json::from_slice(body).unwrap();
        assert!(matches!(
            r.model.as_ref().unwrap().0,
            Cow::Borrowed("gpt-4o")
        ));
        assert!(r.is_stream());
        assert!(r.include_usage());
        assert_eq!(r.max_tokens(), Some(5));
        let msgs = r.messages.as_deref().unwrap();
        assert_eq!(chat_echo(msgs), "hi there");
        assert_eq!(chat_prompt_tokens(msgs), (7 + 8) / 4 + 12);
    }

    #[test]
    fn trailing_system_messages_do_not_end_the_users_turn() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"list files"},
            {"role":"system","content":"env: linux"}],
            "tools":[{"type":"function","function":{"name":"Bash","parameters":{"type":"object"}}}]}"#;
        let r: ApiRequest<'_> = serde_json::from_slice(body).unwrap();
        let (answer, call) = chat_reply(&r);
        assert_eq!(answer.text, "Calling Bash.");
        assert_eq!(call.map(|c| c.name).as_deref(), Some("Bash"));
        let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c","content":"a.txt"},{"role":"developer","content":"be brief"}],
            "tools":[{"type":"function","function":{"name":"Bash"}}]}"#;
        let r: ApiRequest<'_> = serde_json::from_slice(body).unwrap();
        assert_eq!(chat_reply(&r).0.text, "Tool said: a.txt");
    }

    #[test]
    fn text_lists() {
        let r: ApiRequest<'_> =
            serde_json::from_str(r#"{"input":["a\nb",[1,2,3],"cccc"],"prompt":[1,2,3,4]}"#)
                .unwrap();
        let input = r.input.unwrap().0;
        assert_eq!(input.len(), 3);
        assert!(matches!(&input[0], Item::Text(t) if t == "a\nb"));
        assert!(matches!(input[1], Item::Tokens(3)));
        let prompt = r.prompt.unwrap().0;
        assert_eq!(prompt.len(), 1);
        assert!(matches!(prompt[0], Item::Tokens(4)));
    }

    #[test]
    fn answer_and_pieces() {
        let a = Answer::new("  how   are\nyou ", None);
        assert_eq!(
            a.text,
            "Hello from the Switchyard emulator. You said: how are you"
        );
        assert_eq!(a.words, 10);
        assert_eq!(a.finish, "stop");
        for n in [1, 3, 8, 10, 25] {
            let pieces: Vec<&str> = a.pieces(n).collect();
            assert_eq!(pieces.len(), n);
            assert_eq!(pieces.concat(), a.text);
        }
        let t = Answer::new("how are you", Some(3));
        assert_eq!(t.text, "Hello from the");
        assert_eq!(t.words, 3);
        assert_eq!(t.finish, "length");
        let long = "x".repeat(100);
        assert_eq!(Answer::new(&long, None).text.len(), GREETING.len() + 41);
    }

    #[test]
    fn json_is_valid() {
        let id = next_id();
        let m = Meta {
            id: &id,
            created: 1,
            model: "m\"odel",
            prompt_tokens: 3,
            usage: true,
        };
        let a = Answer::new("q\"uote", None);
        let v: serde_json::Value = serde_json::from_slice(&chat_completion(&m, &a, None)).unwrap();
        assert_eq!(v["model"], "m\"odel");
        assert_eq!(v["usage"]["total_tokens"], 3 + a.words);
        let v: serde_json::Value = serde_json::from_slice(&text_completion(&m, &a)).unwrap();
        assert_eq!(v["choices"][0]["text"], a.text.as_str());
        let items = [Item::Text("abc".into()), Item::Tokens(2)];
        let v: serde_json::Value = serde_json::from_slice(&embeddings("e", &items, true)).unwrap();
        assert_eq!(v["data"][1]["embedding"].as_array().unwrap().len(), 8);
        assert_eq!(v["usage"]["prompt_tokens"], 1 + 2);
        let v: serde_json::Value = serde_json::from_slice(&models_body()).unwrap();
        assert_eq!(v["data"][0]["id"], "gpt-4o-mini");
        let v: serde_json::Value =
            serde_json::from_slice(&error_body("a\nb", "t", Some("p"), None)).unwrap();
        assert_eq!(v["error"]["message"], "a\nb");
        assert!(v["error"]["code"].is_null());
        assert_ne!(next_id(), next_id());
    }

    #[test]
    fn no_usage_bodies_are_valid_json_without_usage() {
        let id = next_id();
        let m = Meta {
            id: &id,
            created: 1,
            model: "m",
            prompt_tokens: 3,
            usage: false,
        };
        let a = Answer::new("hi", None);
        let call = ToolCall {
            id: next_id(),
            name: "f".to_owned(),
            arguments: "{\"a\":1}".to_owned(),
        };
        for body in [
            chat_completion(&m, &a, Some(&call)),
            text_completion(&m, &a),
            embeddings("e", &[Item::Text("abc".into())], false),
        ] {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(v.get("usage").is_none(), "{v}");
            assert!(v["model"].is_string(), "{v}");
        }
        for sse in [
            chat_stream(&m, &a, Some(&call), 3, true),
            text_stream(&m, &a, 3, true),
        ] {
            let text = std::str::from_utf8(&sse.data).unwrap();
            assert!(!text.contains("usage"), "{text}");
            assert_eq!(sse.ends.last(), Some(&sse.data.len()));
            for block in text.split_terminator("\n\n") {
                let data = block.strip_prefix("data: ").unwrap();
                if data != "[DONE]" {
                    serde_json::from_str::<serde_json::Value>(data).unwrap();
                }
            }
        }
    }

    #[test]
    fn credentials() {
        let h = |pairs: &'static [(&'static str, &'static str)]| {
            find_credential(move |n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v))
        };
        assert_eq!(
            h(&[("authorization", "Bearer sk-1")]),
            Some(("sk-1", "authorization"))
        );
        assert_eq!(
            h(&[("authorization", "sk-raw")]),
            Some(("sk-raw", "authorization"))
        );
        assert_eq!(
            h(&[("x-api-key", "k"), ("api-key", "az")]),
            Some(("az", "api-key"))
        );
        assert_eq!(h(&[("x-goog-api-key", "g")]), Some(("g", "x-goog-api-key")));
        assert_eq!(h(&[("authorization", "Bearer ")]), None);
        assert_eq!(h(&[]), None);
        assert_eq!(
            h(&[(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAX/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab"
            )]),
            Some(("AKIAX", "authorization"))
        );
        assert_eq!(
            h(&[(
                "authorization",
                "AWS4-HMAC-SHA256 SignedHeaders=host,Credential=bad-K/d/r/s/aws4_request"
            )]),
            Some(("bad-K", "authorization"))
        );
        // No Credential= in a SigV4 header: fall back to the other headers.
        assert_eq!(
            h(&[
                ("authorization", "AWS4-HMAC-SHA256 Signature=x"),
                ("x-api-key", "k")
            ]),
            Some(("k", "x-api-key"))
        );
        assert!(is_sigv4("AWS4-HMAC-SHA256 Credential=a"));
        assert!(!is_sigv4("AWS4-HMAC-SHA256"));
        assert!(!is_sigv4("Bearer AWS4-HMAC-SHA256 x"));
    }
}
