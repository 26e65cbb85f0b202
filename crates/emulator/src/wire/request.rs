//! OpenAI request parsing (borrowed from the body, unknown fields ignored),
//! and what is read off a parsed request: token estimates and the echoed text.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
// Token estimates and the echoed text
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

pub(crate) fn list_echo<'s>(items: &'s [Item<'_>]) -> &'s str {
    match items.last() {
        Some(Item::Text(t)) => t,
        _ => "",
    }
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
}
