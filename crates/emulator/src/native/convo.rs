//! The conversation summary every dialect parses its request into, and the
//! parsing helpers the dialects share.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A dialect request reduced to what the emulator needs.
#[derive(Default)]
pub(crate) struct Request<'a> {
    /// The model in the body (Anthropic).
    pub model: Option<Cow<'a, str>>,
    /// `stream: true` in the body (Anthropic).
    pub stream: bool,
    /// A validation error (400) found while parsing.
    pub missing: Option<&'static str>,
    pub convo: Convo<'a>,
}

/// One message: its text parts joined with a space, and the text of its first
/// tool result, if any.
pub(crate) struct Turn<'a> {
    pub user: bool,
    pub text: Cow<'a, str>,
    pub tool_result: Option<Cow<'a, str>>,
}

/// The first declared tool.
pub(crate) struct ToolDecl<'a> {
    pub name: Cow<'a, str>,
    /// Its JSON schema (the `required` properties get sample values).
    pub schema: Option<&'a RawValue>,
}

#[derive(Default)]
pub(crate) struct Convo<'a> {
    pub prompt_tokens: u64,
    /// The last message has the user role.
    pub last_is_user: bool,
    /// The text of the last user message (or of the last message).
    pub echo: Cow<'a, str>,
    /// The first tool result of the last user message.
    pub tool_result: Option<Cow<'a, str>>,
    pub tool: Option<ToolDecl<'a>>,
    pub max_tokens: Option<u64>,
}

impl<'a> Convo<'a> {
    /// Prompt tokens are about (chars of system + messages)/4 + 4 per
    /// message, at least 1 (as for chat completions).
    pub(crate) fn new(
        turns: Vec<Turn<'a>>,
        system_chars: usize,
        tool: Option<ToolDecl<'a>>,
        max_tokens: Option<u64>,
    ) -> Self {
        let chars: usize = system_chars
            + turns
                .iter()
                .map(|t| t.text.len() + t.tool_result.as_ref().map_or(0, |r| r.len()))
                .sum::<usize>();
        let prompt_tokens = (chars as u64 / 4 + 4 * turns.len() as u64).max(1);
        let last_is_user = turns.last().is_some_and(|t| t.user);
        let idx = turns
            .iter()
            .rposition(|t| t.user)
            .or(turns.len().checked_sub(1));
        let (echo, tool_result) = match idx.and_then(|i| turns.into_iter().nth(i)) {
            Some(t) if t.user => (t.text, t.tool_result),
            Some(t) => (t.text, None),
            None => (Cow::Borrowed(""), None),
        };
        Self {
            prompt_tokens,
            last_is_user,
            echo,
            tool_result,
            tool,
            max_tokens,
        }
    }
}

/// Joins text parts with a single space, borrowing when there is only one.
#[derive(Default)]
pub(crate) struct Joiner<'a>(Option<Cow<'a, str>>);

impl<'a> Joiner<'a> {
    pub(crate) fn push(&mut self, t: Cow<'a, str>) {
        self.0 = Some(match self.0.take() {
            None => t,
            Some(prev) => {
                let mut s = prev.into_owned();
                s.push(' ');
                s.push_str(&t);
                Cow::Owned(s)
            }
        });
    }

    pub(crate) fn finish(self) -> Cow<'a, str> {
        self.0.unwrap_or(Cow::Borrowed(""))
    }
}

/// The text of a JSON tool result: a string as is, an object with a single
/// string field as that string, anything else as compact JSON.
pub(crate) fn json_text(raw: &RawValue) -> Cow<'_, str> {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::String(s)) => Cow::Owned(s),
        Ok(Value::Object(m)) if m.len() == 1 => match m.into_iter().next() {
            Some((_, Value::String(s))) => Cow::Owned(s),
            Some((k, v)) => {
                let mut m = serde_json::Map::new();
                m.insert(k, v);
                Cow::Owned(Value::Object(m).to_string())
            }
            None => Cow::Borrowed("{}"),
        },
        Ok(v) => Cow::Owned(v.to_string()),
        Err(_) => Cow::Borrowed(raw.get()),
    }
}

/// A string, an array of `B` or null (message contents, `system`).
pub(crate) enum StrOrSeq<'a, B> {
    Str(Cow<'a, str>),
    Seq(Vec<B>),
}

impl<'de: 'a, 'a, B: Deserialize<'de>> Deserialize<'de> for StrOrSeq<'a, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<B>(PhantomData<B>);
        impl<'de, B: Deserialize<'de>> Visitor<'de> for V<B> {
            type Value = StrOrSeq<'de, B>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an array or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Seq(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StrOrSeq::Seq(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
                while let Some(b) = seq.next_element::<B>()? {
                    v.push(b);
                }
                Ok(StrOrSeq::Seq(v))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Also used by the `reply` tests.
    pub(crate) fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn json_texts() {
        assert_eq!(json_text(&raw(r#""plain""#)), "plain");
        assert_eq!(json_text(&raw(r#"{"result": "22C"}"#)), "22C");
        assert_eq!(json_text(&raw(r#"{"t": 22}"#)), r#"{"t":22}"#);
        assert_eq!(json_text(&raw(r#"{"a": 1, "b": 2}"#)), r#"{"a":1,"b":2}"#);
        assert_eq!(json_text(&raw("[1, 2]")), "[1,2]");
    }
}
