//! What accounting needs from a plain (not streamed) OpenAI answer (and
//! the `id` and `model` of a stream's first chunk), found
//! where it usually is instead of parsing the whole answer: `id` and
//! `model` among its first keys, the last `finish_reason`, and `usage` at
//! its end (the last top-level-looking `usage` key). An answer laid out
//! otherwise (`id` or `model` after the choices, an escaped string on the
//! way, no usage) gives `None`, and the light parse of the whole answer
//! runs instead. With several choices the peek reads the last one's
//! `finish_reason` (the parse, the first's).
//!
//! Why a byte search finds keys: in valid JSON a quote inside a string is
//! escaped, so `"finish_reason"` with an unescaped opening quote (one not
//! preceded by an odd run of backslashes) and followed by `:` is a key.

use std::sync::LazyLock;

use memchr::memmem::FinderRev;

// Built once: a finder's setup costs more than searching a short answer.
pub(super) static USAGE: LazyLock<FinderRev<'static>> =
    LazyLock::new(|| FinderRev::new(b"\"usage\""));
static FINISH_REASON: LazyLock<FinderRev<'static>> =
    LazyLock::new(|| FinderRev::new(b"\"finish_reason\""));

/// The fields found.
#[derive(Debug, PartialEq, Eq)]
pub struct Peeked<'a> {
    pub id: Option<&'a str>,
    pub model: Option<&'a str>,
    /// The last choice's `finish_reason` (`None` when it is `null`).
    pub finish_reason: Option<&'a str>,
    /// The `usage` object, as raw JSON.
    pub usage: &'a [u8],
}

/// Peek at `body`; `None` sends the caller to the full parse.
pub fn openai_answer(body: &[u8]) -> Option<Peeked<'_>> {
    let (id, model) = leading_id_and_model(body)?;
    let (id, model) = (Some(id?), Some(model?));
    let usage = value_of(body, &USAGE)?;
    if usage.first() != Some(&b'{') {
        return None;
    }
    let usage = object_at(usage)?;
    let finish_reason = match value_of(body, &FINISH_REASON) {
        Some(v) if v.starts_with(b"null") => None,
        Some(v) => Some(plain_string(v)?.0),
        None => None,
    };
    Some(Peeked {
        id,
        model,
        finish_reason,
        usage,
    })
}

/// `id` and `model` from the object's leading keys: scalar values are
/// stepped over; the scan stops at the first object or array value (the
/// answer's bulk), or at an escape.
pub(super) fn leading_id_and_model(body: &[u8]) -> Option<(Option<&str>, Option<&str>)> {
    let mut at = skip_ws(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    let (mut id, mut model) = (None, None);
    loop {
        at = skip_ws(body, at + 1);
        let (key, next) = plain_string(body.get(at..)?)?;
        at = skip_ws(body, at + next);
        if body.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(body, at + 1);
        let rest = body.get(at..)?;
        match rest.first()? {
            b'"' => {
                let (value, len) = plain_string(rest)?;
                match key {
                    "id" => id = Some(value),
                    "model" => model = Some(value),
                    _ => {}
                }
                at += len;
            }
            b'{' | b'[' => break,
            _ => {
                at += rest.iter().position(|&b| b == b',' || b == b'}')?;
            }
        }
        if id.is_some() && model.is_some() {
            break;
        }
        at = skip_ws(body, at);
        if body.get(at) != Some(&b',') {
            break;
        }
    }
    Some((id, model))
}

/// The value after the last occurrence of `key` (quotes included) that is
/// a key: an unescaped quote, then `:`.
fn value_of<'a>(body: &'a [u8], key: &FinderRev<'_>) -> Option<&'a [u8]> {
    let mut end = body.len();
    while let Some(at) = key.rfind(&body[..end]) {
        let backslashes = body[..at].iter().rev().take_while(|&&b| b == b'\\').count();
        let after = skip_ws(body, at + key.needle().len());
        if backslashes % 2 == 0 && body.get(after) == Some(&b':') {
            return body.get(skip_ws(body, after + 1)..);
        }
        end = at;
    }
    None
}

/// A string at the start of `s` with no escape in it, and the bytes it
/// takes (quotes included).
fn plain_string(s: &[u8]) -> Option<(&str, usize)> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let len = memchr::memchr2(b'"', b'\\', &s[1..])?;
    if s[1 + len] != b'"' {
        return None;
    }
    Some((std::str::from_utf8(&s[1..1 + len]).ok()?, len + 2))
}

/// The object at the start of `s` (a flat one, as `usage` is, or nested
/// without strings holding braces).
fn object_at(s: &[u8]) -> Option<&[u8]> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(&s[..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

fn skip_ws(s: &[u8], mut at: usize) -> usize {
    while matches!(s.get(at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1796462597,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"He said \"finish_reason\": \"usage\" {","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":8,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp"}"#;

    #[test]
    fn the_usual_layout_is_read_without_a_parse() {
        let p = openai_answer(ANSWER.as_bytes()).unwrap();
        assert_eq!(p.id, Some("chatcmpl-1"));
        assert_eq!(p.model, Some("gpt-4o"));
        assert_eq!(p.finish_reason, Some("stop"));
        assert_eq!(
            std::str::from_utf8(p.usage).unwrap(),
            r#"{"prompt_tokens":4,"completion_tokens":8,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0}}"#
        );
    }

    #[test]
    fn it_agrees_with_a_full_parse_or_gives_up() {
        // Whitespace, other key orders, escapes, nulls, missing keys.
        let cases = [
            ANSWER.to_string(),
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(ANSWER).unwrap()).unwrap(),
            r#"{"choices":[{"finish_reason":null}],"model":"m","id":"x","usage":{"prompt_tokens":1}}"#.into(),
            r#"{"id":"a\"b","model":"m","choices":[],"usage":{"prompt_tokens":1}}"#.into(),
            r#"{"id":"a","model":"m","choices":[{"finish_reason":"length"}]}"#.into(),
            r#"{"id":"a","model":"m","usage":null}"#.into(),
            r#"{"id":"a","model":"m","choices":[{"message":{"content":"\\"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2}}"#.into(),
            r#"["not","an","object"]"#.into(),
            r#"{"id":"a","model":"m","usage":{"prompt_tokens":3},"x":{"\"usage":{"a":1}}}"#.into(),
        ];
        for text in &cases {
            let full: serde_json::Value = serde_json::from_str(text).unwrap();
            let Some(p) = openai_answer(text.as_bytes()) else {
                continue;
            };
            if let Some(id) = p.id {
                assert_eq!(full["id"], id, "{text}");
            }
            if let Some(model) = p.model {
                assert_eq!(full["model"], model, "{text}");
            }
            let last = full["choices"]
                .as_array()
                .and_then(|c| c.last())
                .map(|c| c["finish_reason"].clone());
            assert_eq!(last.unwrap_or_default().as_str(), p.finish_reason, "{text}");
            let usage: serde_json::Value = serde_json::from_slice(p.usage).unwrap();
            assert_eq!(usage, full["usage"], "{text}");
        }
        assert!(
            openai_answer(cases[3].as_bytes()).is_none(),
            "an escaped id is left to the parse"
        );
        assert!(
            openai_answer(cases[4].as_bytes()).is_none(),
            "no usage: the parse counts the text"
        );
        assert!(
            openai_answer(cases[2].as_bytes()).is_none(),
            "id and model after the choices"
        );
        let p = openai_answer(cases[8].as_bytes()).unwrap();
        assert_eq!(
            p.usage, br#"{"prompt_tokens":3}"#,
            "a key with an escaped quote is not `usage`"
        );
        assert_eq!(
            openai_answer(cases[6].as_bytes()).unwrap().finish_reason,
            Some("stop")
        );
    }
}
