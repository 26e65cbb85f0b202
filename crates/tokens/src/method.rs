//! Which way a model's tokens are counted.

/// A tiktoken BPE encoding (the tables are compiled into the binary;
/// nothing is downloaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-4.5, GPT-5, o-series, gpt-oss.
    O200kBase,
    /// GPT-4, GPT-3.5, text-embedding-3 and ada-002, davinci-002, babbage-002.
    Cl100kBase,
}

impl Encoding {
    /// The tiktoken name: `o200k_base` or `cl100k_base`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }
}

/// How [`count_text`](crate::count_text) and friends count for a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// The model's own tokenizer: counts match what OpenAI bills for text.
    Tiktoken(Encoding),
    /// A model whose tokenizer we do not ship: estimated from its characters
    /// (about 4.2 per token, one per CJK character), without loading any BPE
    /// table. See the crate docs for the measured error.
    Approximate,
}

impl Method {
    /// A short, stable label for logs and metrics: `o200k_base`,
    /// `cl100k_base` or `approximate`.
    pub fn label(self) -> &'static str {
        match self {
            Method::Tiktoken(e) => e.name(),
            Method::Approximate => "approximate",
        }
    }
}

/// Model-name prefixes (lowercase, after provider prefixes are removed) and
/// their encodings. The first match wins, so `gpt-4o` precedes `gpt-4`.
/// A prefix matches when the name equals it or continues with a separator
/// (`-`, `.`, `:`, `@`, `_`), or with anything when it ends in `-`.
const FAMILIES: &[(&str, Encoding)] = &[
    ("gpt-4o", Encoding::O200kBase),
    ("gpt-4.1", Encoding::O200kBase),
    ("gpt-4.5", Encoding::O200kBase),
    ("gpt-5", Encoding::O200kBase),
    ("chatgpt-4o", Encoding::O200kBase),
    ("gpt-oss", Encoding::O200kBase),
    ("o1", Encoding::O200kBase),
    ("o3", Encoding::O200kBase),
    ("o4", Encoding::O200kBase),
    // `gpt-4` itself and its snapshots (`gpt-4-0613`, `gpt-4-turbo`, ...);
    // `gpt-4.` is caught above for 4.1 / 4.5 and left approximate otherwise.
    ("gpt-4", Encoding::Cl100kBase),
    ("gpt-3.5", Encoding::Cl100kBase),
    // Azure deployment-style names: `gpt-35-turbo`, `gpt-35-turbo-16k`.
    ("gpt-35", Encoding::Cl100kBase),
    ("text-embedding-3-", Encoding::Cl100kBase),
    ("text-embedding-ada-002", Encoding::Cl100kBase),
    ("davinci-002", Encoding::Cl100kBase),
    ("babbage-002", Encoding::Cl100kBase),
];

/// The counting method for a model name as a client or provider spells it.
///
/// Provider prefixes are ignored (`openai/gpt-4o`, `azure/gpt-35-turbo`,
/// Bedrock's `openai.gpt-oss-120b-1:0`), as are case and a fine-tune
/// prefix (`ft:gpt-4o-mini:org::id`). Anything not in the OpenAI families
/// is [`Method::Approximate`].
pub fn method_for(model: &str) -> Method {
    let name = base_name(model);
    for (prefix, encoding) in FAMILIES {
        if family_matches(name, prefix) {
            // `gpt-4` must not swallow `gpt-4.2` or any future `gpt-4x`.
            if *prefix == "gpt-4" && name.as_bytes().get(5).is_some_and(|&b| b == b'.') {
                return Method::Approximate;
            }
            return Method::Tiktoken(*encoding);
        }
    }
    Method::Approximate
}

/// The model name without provider path, `openai.` vendor prefix or `ft:`.
fn base_name(model: &str) -> &str {
    let mut name = model.trim();
    if let Some((_, last)) = name.rsplit_once('/') {
        name = last;
    }
    if let Some(rest) = strip_prefix_ci(name, "ft:") {
        name = rest;
    }
    if let Some(rest) = strip_prefix_ci(name, "openai.") {
        name = rest;
    }
    name
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn family_matches(name: &str, prefix: &str) -> bool {
    let Some(rest) = strip_prefix_ci(name, prefix) else {
        return false;
    };
    if prefix.ends_with('-') {
        return true;
    }
    match rest.as_bytes().first() {
        None => true,
        Some(b) => matches!(b, b'-' | b'.' | b':' | b'@' | b'_'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Cl100kBase as Cl, O200kBase as O2};

    #[test]
    fn model_table() {
        let cases: &[(&str, Method)] = &[
            ("gpt-4o", Method::Tiktoken(O2)),
            ("gpt-4o-mini", Method::Tiktoken(O2)),
            ("gpt-4o-2024-08-06", Method::Tiktoken(O2)),
            ("gpt-4o-mini-search-preview", Method::Tiktoken(O2)),
            ("GPT-4o", Method::Tiktoken(O2)),
            ("openai/gpt-4o", Method::Tiktoken(O2)),
            ("ft:gpt-4o-mini:acme::abc123", Method::Tiktoken(O2)),
            ("gpt-4.1", Method::Tiktoken(O2)),
            ("gpt-4.1-nano", Method::Tiktoken(O2)),
            ("gpt-4.5-preview", Method::Tiktoken(O2)),
            ("gpt-5", Method::Tiktoken(O2)),
            ("gpt-5-nano", Method::Tiktoken(O2)),
            ("gpt-5.4", Method::Tiktoken(O2)),
            ("o1", Method::Tiktoken(O2)),
            ("o1-mini", Method::Tiktoken(O2)),
            ("o3-mini", Method::Tiktoken(O2)),
            ("o4-mini-2025-04-16", Method::Tiktoken(O2)),
            ("chatgpt-4o-latest", Method::Tiktoken(O2)),
            ("gpt-oss-120b", Method::Tiktoken(O2)),
            ("openai/gpt-oss-20b", Method::Tiktoken(O2)),
            ("openai.gpt-oss-120b-1:0", Method::Tiktoken(O2)),
            ("gpt-4", Method::Tiktoken(Cl)),
            ("gpt-4-0613", Method::Tiktoken(Cl)),
            ("gpt-4-turbo", Method::Tiktoken(Cl)),
            ("gpt-4-32k", Method::Tiktoken(Cl)),
            ("gpt-3.5-turbo", Method::Tiktoken(Cl)),
            ("gpt-3.5-turbo-instruct", Method::Tiktoken(Cl)),
            ("gpt-35-turbo", Method::Tiktoken(Cl)),
            ("azure/gpt-35-turbo-16k", Method::Tiktoken(Cl)),
            ("text-embedding-3-small", Method::Tiktoken(Cl)),
            ("text-embedding-3-large", Method::Tiktoken(Cl)),
            ("text-embedding-ada-002", Method::Tiktoken(Cl)),
            ("davinci-002", Method::Tiktoken(Cl)),
            ("babbage-002", Method::Tiktoken(Cl)),
            // Not OpenAI, or not a known OpenAI family.
            ("claude-sonnet-4-5", Method::Approximate),
            ("anthropic/claude-sonnet-4.5", Method::Approximate),
            ("gemini-2.5-flash", Method::Approximate),
            ("qwen3-coder", Method::Approximate),
            ("deepseek-chat", Method::Approximate),
            ("llama-3.3-70b-versatile", Method::Approximate),
            ("mistral-large-latest", Method::Approximate),
            ("o1x", Method::Approximate),
            ("o3d-model", Method::Approximate),
            ("gpt-4.2", Method::Approximate),
            ("gpt-40", Method::Approximate),
            ("gpt-50", Method::Approximate),
            ("text-davinci-003", Method::Approximate),
            ("", Method::Approximate),
            ("/", Method::Approximate),
            ("ft:", Method::Approximate),
            ("é/ü", Method::Approximate),
        ];
        for (model, want) in cases {
            assert_eq!(method_for(model), *want, "{model}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(Method::Tiktoken(O2).label(), "o200k_base");
        assert_eq!(Method::Tiktoken(Cl).label(), "cl100k_base");
        assert_eq!(Method::Approximate.label(), "approximate");
        assert_eq!(Cl.name(), "cl100k_base");
    }
}
