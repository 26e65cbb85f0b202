//! The deterministic answer text and the chat tool rules shared by every
//! format (tool call, tool result, echo).

use super::ids::next_id;
use super::request::{ApiRequest, Message, chat_echo};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
