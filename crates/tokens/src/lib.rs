//! Token counting for requests whose upstream reported no usage, and what
//! requests cost: [`PriceTable`] (built-in list prices with the config's
//! over them) and [`cost`]; see the `prices` module for the rules.
//!
//! # When the gateway uses this
//!
//! Providers report token usage in their responses, and the gateway records
//! those numbers as they are. Some upstreams send none: self-hosted servers
//! that never do, streams where the client did not ask for
//! `stream_options.include_usage`, streams cut short by a timeout, an
//! upstream error or a client that went away. Then the gateway counts the
//! tokens itself, once the response is over, on its telemetry worker thread
//! (never on the request path): the prompt with [`count_prompt`] (chat, on
//! the decoded request) or [`count_prompt_json`] (legacy completions,
//! embeddings), and the answer with one [`count_text`] over the text it
//! relayed, which it keeps up to 512 KiB (characters past that are counted
//! as a quarter token each, without this crate). Every number from this
//! crate is an estimate, and the gateway records only that: an `estimated`
//! flag, true or false (metrics label `estimated`, access-log field
//! `token_estimated`, span attribute `switchyard.tokens.estimated`), not
//! which method counted. Nobody should reconcile such a count against an
//! invoice as if it came from the provider.
//!
//! [`OutputCounter`] (counts a stream as it goes, holding at most 4 KiB)
//! and [`preload`] (loads a table ahead of time) are here for other
//! callers; the gateway uses neither.
//!
//! # Which method per model
//!
//! [`method_for`] maps a model name (provider prefixes such as `openai/` and
//! Azure names such as `gpt-35-turbo` accepted) to a [`Method`]:
//!
//! | models | method |
//! |---|---|
//! | `gpt-4o*`, `gpt-4.1*`, `gpt-4.5*`, `gpt-5*`, `o1*`, `o3*`, `o4*`, `chatgpt-4o*`, `gpt-oss*` | `o200k_base` |
//! | `gpt-4`, `gpt-4-*` (not 4o/4.1/4.5), `gpt-3.5*`, `gpt-35*`, `text-embedding-3-*`, `text-embedding-ada-002`, `davinci-002`, `babbage-002` | `cl100k_base` |
//! | everything else (Claude, Gemini, Llama, Mistral, Qwen, DeepSeek, Nova, unknown names) | approximate: no table |
//!
//! # What the BPE tables cost
//!
//! OpenAI-family models are counted exactly (for text) with their own BPE
//! table: OpenAI's tiktoken files, vendored in `assets/` (as the
//! `tiktoken-rs` crate ships them; nothing is downloaded) and compiled into
//! the binary as raw token bytes (1.5 MB for `o200k_base`, 0.7 MB for
//! `cl100k_base`). Each is loaded once per process, the first time a model
//! of its family is counted ([`std::sync::OnceLock`]): an index over the
//! tokens is built (2.8 MB of heap for `o200k_base`, 1.4 MB for
//! `cl100k_base`) and the encoding's pre-tokenizer regex compiled (about
//! 2.6 MB). In all, loading `o200k_base` adds about 7 MB of resident memory
//! in about 20 ms, and `cl100k_base` 4 MB in 6 ms (optimised build; about
//! 0.1 s and 0.05 s in the dev profile). tiktoken-rs's own `CoreBPE`, which
//! this crate used before, took 46 MB (54 MB at the peak) and 0.3-0.6 s for
//! `o200k_base`, 24 MB and 0.13 s for `cl100k_base`; the example
//! `table_memory` measures both. Counts are tiktoken's, token for
//! token: the crate's tests compare them with tiktoken-rs on every fixture
//! text and on random text. Approximate models never load a table. In the
//! gateway, which does not call [`preload`], the load therefore happens on
//! the telemetry worker thread the first time an OpenAI-family answer comes
//! without usage: a one-time step of about 7 MB (`o200k_base`) or 4 MB
//! (`cl100k_base`) in resident memory, and that one record accounted a
//! little late; no request waits for it, and a gateway whose OpenAI
//! upstreams always report usage never pays it. A caller that counts on a
//! latency-sensitive path can call [`preload`] at startup, on a blocking
//! thread. Loading cannot fail in practice, but if it did, counts fall back
//! to the approximation below instead of panicking. [`is_loaded`] says
//! whether a table is in memory.
//!
//! Counting with a table costs about 55 µs per KiB of English and 120 µs per
//! KiB of Chinese (release build, one core): a 1 MB prompt takes ~60 ms of
//! CPU, so large counts belong on a blocking thread or after the response
//! is sent, not inline on an async task. The approximation is one pass over
//! the characters, with no allocation.
//!
//! # The approximation
//!
//! Models whose tokenizer we do not ship are counted from their characters:
//! one token per 4.2 ASCII characters, per 2.1 other characters (accented
//! Latin, Cyrillic, Greek, Arabic, Indic scripts and emoji take more bytes
//! per token), rounded up per piece of text, plus one token per CJK
//! character (Han, kana, Hangul, CJK punctuation).
//!
//! Measured against the output tokens the providers reported for the 25
//! recorded answers of `shared/fixtures` whose billed output is all visible
//! text (no tool calls, no hidden thinking; Gemini's reasoning, reported
//! apart, left out): 10 Claude, 9 Gemini, 4 Nova, 1 Llama on Groq,
//! 1 Mistral; English prose, Markdown, a little code and JSON; 1 to 469
//! tokens each. The test `recorded_answers_of_other_models` prints them:
//!
//! | counted with | all 25: total | the 9 of 50+ tokens: total | each of the 9: mean \|error\| | each of the 9: range |
//! |---|---|---|---|---|
//! | 4.2 characters a token (this crate) | 1534 vs 1541, -0.5% | 1324 vs 1309, +1.1% | 12.4% | -22% to +29% |
//! | 4 characters a token | 1603, +4.0% | 1388, +6.0% | 13.6% | -19% to +35% |
//! | `o200k_base` as a proxy tokenizer | 1399, -9.2% | 1204, -8.0% | 8.8% | -16% to -3% |
//!
//! The divisor 4.2 is the one that cancels the bias on these answers; per
//! family, the totals at 4.2 are within 1% of the reported ones for Claude,
//! Gemini and Nova alike, so no per-family factor is applied. A proxy
//! tokenizer spreads less from answer to answer but is biased low by about
//! 9%, and its table costs 7 MB. Expect this rule to be within about ±30%
//! on one answer of English of some length, closer on a sum of many, and
//! off by a few tokens either way on answers of a few words (`21` is 5
//! tokens for Claude, 1 here).
//!
//! Not measured against any provider (no recorded traffic): CJK and other
//! scripts, and code at length. On the crate's test samples the rule gives
//! about what `cl100k_base` gives on Chinese and Japanese (1095 vs 1154,
//! 606 vs 593 tokens) and 33-41% more than `o200k_base`, so expect an
//! overcount of that order for tokenizers with large CJK vocabularies
//! (Qwen, DeepSeek, Gemini). Rust code comes out about 12% below
//! `o200k_base`, and random identifiers, hex and base64 as little as half
//! of what tokenizers give (a 113-character hex-laden prompt: 27 tokens
//! here, 52 with `o200k_base`).
//!
//! Prompts add framing to the text. [`count_prompt`] adds OpenAI's (4 tokens
//! per message, 3 to prime the reply) for every model, and no count sees
//! provider-side prompts, so short prompts to other models are off by more
//! than their text is: on the 20 recorded text-only chat prompts (18 under
//! 50 tokens), from -67% (Claude with extended thinking, whose hidden
//! prompt is about 30 tokens) to +160% (Gemini, whose framing is about a
//! token per message), whichever way the text is counted. The one long
//! prompt recorded (7 KB of repeated English to Claude, 1532 tokens) counts
//! 1694 (+11%; `o200k_base`: 1498).
//!
//! # What no count here can see
//!
//! - Hidden reasoning: OpenAI's reasoning models and Gemini's thinking bill
//!   reasoning tokens that never reach the gateway; an output estimate for
//!   them counts only the visible answer and can be several times too low.
//! - Hidden prompts: providers add their own framing (Anthropic's tool-use
//!   system prompt is 300-500 tokens; gpt-5 adds a larger tool preamble).
//! - Images: counted as a flat [`IMAGE_TOKENS`] each.
//!
//! All functions are thread-safe and do not panic on any input.

mod bpe;
mod engine;
mod method;
mod price_list;
mod prices;
mod prompt;
mod stream;

pub use method::{Encoding, Method, method_for};
pub use prices::{Price, PriceTable, cost};
pub use prompt::{
    IMAGE_TOKENS, REPLY_PRIMING, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, TOKENS_PER_ROLE,
    count_prompt, count_prompt_json, estimate_openai_chat, estimate_prompt,
};
pub use stream::OutputCounter;

/// Tokens of plain text for `model` (see [`method_for`]): exact for an
/// OpenAI-family model (its table is loaded on first use), the
/// approximation for any other.
///
/// Text that looks like a special token (`<|endoftext|>`) is counted as
/// ordinary text, as OpenAI does for user content.
pub fn count_text(model: &str, text: &str) -> u64 {
    engine::Engine::for_method(method_for(model)).count(text)
}

/// Load the table for `encoding` now rather than on the first count of an
/// OpenAI-family model (about 7 MB and 20 ms for `o200k_base`; call it from
/// a blocking thread at startup). Returns whether the table is available;
/// if not, counts use the approximation. The gateway does not call it.
pub fn preload(encoding: Encoding) -> bool {
    engine::table(encoding).is_some()
}

/// Whether the table for `encoding` is in memory, loaded by [`preload`] or
/// by a count. Does not block or load anything.
pub fn is_loaded(encoding: Encoding) -> bool {
    engine::is_loaded(encoding)
}

#[cfg(test)]
mod tests;
