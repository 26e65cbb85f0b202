//! The scripted reply shared by every dialect: text or a call of the first
//! declared tool, with sample arguments.

use serde_json::Value;
use serde_json::value::RawValue;

use super::convo::Convo;
use crate::wire::{self, Answer, Out};

/// Why the answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    EndTurn,
    MaxTokens,
    ToolUse,
}

/// A tool call: the first declared tool, with sample values for its
/// required properties.
pub(crate) struct Call<'a> {
    pub id: [u8; 16],
    pub name: &'a str,
    /// Compact JSON object.
    pub input: String,
}

pub(crate) struct Reply<'a> {
    pub answer: Answer,
    pub call: Option<Call<'a>>,
}

impl Reply<'_> {
    pub(crate) fn stop(&self) -> Stop {
        if self.call.is_some() {
            Stop::ToolUse
        } else if self.answer.finish == "length" {
            Stop::MaxTokens
        } else {
            Stop::EndTurn
        }
    }

    /// Words of the text plus about (name + input)/4 for a tool call.
    pub(crate) fn output_tokens(&self) -> u64 {
        self.answer.words
            + self
                .call
                .as_ref()
                .map_or(0, |c| ((c.name.len() + c.input.len()) as u64).div_ceil(4))
    }

    /// The text in at most `n` non-empty pieces (at least one piece).
    pub(crate) fn pieces(&self, n: usize) -> Vec<&str> {
        let mut v: Vec<&str> = self.answer.pieces(n).filter(|p| !p.is_empty()).collect();
        if v.is_empty() {
            v.push(&self.answer.text);
        }
        v
    }
}

/// Words in a piece of the answer (its spaces separate words).
pub(crate) fn piece_words(piece: &str) -> u64 {
    piece.split(' ').filter(|w| !w.is_empty()).count() as u64
}

/// The reply rules shared by every dialect:
/// - the last user message has a tool result: `Tool said: <first 40 chars>`;
/// - else tools are declared and the last message is the user's: a call of
///   the first tool after the text `Calling <name>.`;
/// - else the usual echo answer.
pub(crate) fn plan<'c>(c: &'c Convo<'_>) -> Reply<'c> {
    if let Some(result) = &c.tool_result {
        return Reply {
            answer: Answer::with_prefix("Tool said:", result, c.max_tokens),
            call: None,
        };
    }
    if let (Some(tool), true) = (&c.tool, c.last_is_user) {
        let name: &str = &tool.name;
        return Reply {
            answer: Answer::plain(format!("Calling {name}.")),
            call: Some(Call {
                id: wire::next_id(),
                name,
                input: tool_input(tool.schema),
            }),
        };
    }
    Reply {
        answer: Answer::new(&c.echo, c.max_tokens),
        call: None,
    }
}

/// `{}` or, when the schema has `required` properties, an object giving each
/// one a sample value by type: string `"sf"`, number/integer `1`, boolean
/// `true`, array `[]`, object `{}` (the first `enum` value when there is one;
/// `"sf"` when the type is unknown). Types are matched case-insensitively
/// (Gemini writes `STRING`).
pub(crate) fn tool_input(schema: Option<&RawValue>) -> String {
    let Some(v) = schema.and_then(|s| serde_json::from_str::<Value>(s.get()).ok()) else {
        return "{}".to_owned();
    };
    let Some(required) = v.get("required").and_then(Value::as_array) else {
        return "{}".to_owned();
    };
    let props = v.get("properties");
    let mut o = Out::with_capacity(64);
    o.raw("{");
    let mut seen: Vec<&str> = Vec::with_capacity(required.len());
    for name in required.iter().filter_map(Value::as_str) {
        if seen.contains(&name) {
            continue;
        }
        if !seen.is_empty() {
            o.raw(",");
        }
        seen.push(name);
        o.str(name).raw(":");
        sample_value(&mut o, props.and_then(|p| p.get(name)));
    }
    o.raw("}");
    String::from_utf8_lossy(&o.0).into_owned()
}

fn sample_value(o: &mut Out, prop: Option<&Value>) {
    if let Some(first) = prop
        .and_then(|p| p.get("enum"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let _ = serde_json::to_writer(&mut o.0, first);
        return;
    }
    let ty = prop.and_then(|p| p.get("type")).and_then(|t| match t {
        Value::String(s) => Some(s.as_str()),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|s| !s.eq_ignore_ascii_case("null")),
        _ => None,
    });
    let lower = ty.map(str::to_ascii_lowercase);
    o.raw(match lower.as_deref() {
        Some("number" | "integer") => "1",
        Some("boolean") => "true",
        Some("array") => "[]",
        Some("object") => "{}",
        _ => "\"sf\"",
    });
}

/// Splits a tool input into 2 or 3 fragments at char boundaries (1 when it
/// is shorter than 2 chars). Concatenated they give `s`.
pub(crate) fn split_json(s: &str) -> Vec<&str> {
    let n = s.chars().count();
    let parts = match n {
        0 | 1 => 1,
        2..=5 => 2,
        _ => 3,
    };
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for k in 1..parts {
        let target = n * k / parts;
        let end = s.char_indices().nth(target).map_or(s.len(), |(i, _)| i);
        out.push(&s[start..end]);
        start = end;
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::native::convo::tests::raw;
    use crate::native::{ToolDecl, Turn};

    #[test]
    fn tool_inputs() {
        assert_eq!(tool_input(None), "{}");
        assert_eq!(tool_input(Some(&raw(r#"{"type":"object"}"#))), "{}");
        let s = raw(
            r#"{"type":"OBJECT","properties":{"city":{"type":"STRING"},"n":{"type":"integer"},
            "f":{"type":["null","number"]},"b":{"type":"boolean"},"u":{"type":"string","enum":["c","f"]},
            "l":{"type":"array"},"o":{"type":"object"}},"required":["city","n","f","b","u","l","o","x","city"]}"#,
        );
        assert_eq!(
            tool_input(Some(&s)),
            r#"{"city":"sf","n":1,"f":1,"b":true,"u":"c","l":[],"o":{},"x":"sf"}"#
        );
    }

    #[test]
    fn json_splits() {
        for s in ["", "{}", "{\"a\"}", r#"{"city":"sf","n":1}"#, "é€{}"] {
            let parts = split_json(s);
            assert!(!parts.is_empty() && parts.len() <= 3, "{s}");
            assert_eq!(parts.concat(), s);
        }
        assert_eq!(split_json("{}"), ["{", "}"]);
        assert_eq!(split_json(r#"{"city":"sf"}"#).len(), 3);
    }

    fn turn(user: bool, text: &'static str, result: Option<&'static str>) -> Turn<'static> {
        Turn {
            user,
            text: Cow::Borrowed(text),
            tool_result: result.map(Cow::Borrowed),
        }
    }

    #[test]
    fn plans() {
        let schema = raw(r#"{"required":["q"],"properties":{"q":{"type":"string"}}}"#);
        let tool = || {
            Some(ToolDecl {
                name: Cow::Borrowed("search"),
                schema: Some(&schema),
            })
        };
        let c = Convo::new(vec![turn(true, "find it", None)], 0, tool(), None);
        let r = plan(&c);
        assert_eq!(r.answer.text, "Calling search.");
        let call = r.call.as_ref().unwrap();
        assert_eq!(
            (call.name, call.input.as_str()),
            ("search", r#"{"q":"sf"}"#)
        );
        assert_eq!(r.stop(), Stop::ToolUse);
        assert_eq!(r.output_tokens(), 2 + 4);

        let c = Convo::new(
            vec![
                turn(true, "find it", None),
                turn(false, "", None),
                turn(
                    true,
                    "",
                    Some("  72 degrees\nand sunny in the whole bay area today ok"),
                ),
            ],
            0,
            tool(),
            None,
        );
        let r = plan(&c);
        assert!(r.call.is_none());
        assert_eq!(
            r.answer.text,
            "Tool said: 72 degrees and sunny in the whole bay"
        );
        assert_eq!(r.stop(), Stop::EndTurn);

        // A trailing assistant message (prefill): no call.
        let c = Convo::new(
            vec![turn(true, "hello", None), turn(false, "pre", None)],
            8,
            tool(),
            Some(2),
        );
        assert_eq!(c.prompt_tokens, (5 + 3 + 8) / 4 + 8);
        let r = plan(&c);
        assert!(r.call.is_none());
        assert_eq!(r.answer.text, "Hello from");
        assert_eq!(r.stop(), Stop::MaxTokens);
        assert_eq!(r.pieces(8), ["Hello", " from"]);

        let c = Convo::new(Vec::new(), 0, None, None);
        assert_eq!(c.prompt_tokens, 1);
        assert_eq!(
            plan(&c).answer.text,
            "Hello from the Switchyard emulator. You said:"
        );
    }
}
