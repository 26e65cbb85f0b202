//! What a request cost: prices per model and the arithmetic.
//!
//! # Which price a model gets
//!
//! A [`PriceTable`] is the built-in table (`price_list.rs`: list prices of
//! the common models of every catalog provider) with the config's
//! `prices:` entries over it. [`PriceTable::lookup`] tries, in order:
//!
//! 1. the model sent upstream, then the model the client asked for (when
//!    the first has no price);
//! 2. for each, the config's entries, then the built-in ones: a model any
//!    config entry matches is priced by config, whatever the built-in
//!    table says (so a config `gpt-4o*` also prices `gpt-4o-mini`);
//! 3. within one table, an exact name before any glob, and among globs the
//!    most specific first: the most literal characters (everything but `*`
//!    and `?`), then the longest pattern, then the pattern text; so
//!    `gpt-4o-mini*` wins over `gpt-4o*` for `gpt-4o-mini-2024-07-18`;
//! 4. for each table, the name as given, then the part after its last `/`
//!    (`openai/gpt-4o`, `models/gemini-2.5-pro`), then that part without
//!    leading all-lowercase-letter segments ending in `.` (Bedrock's
//!    `us.anthropic.claude-…`, `amazon.nova-pro-v1:0`).
//!
//! Globs are the routing ones (`*` any run, `?` one character). Matching is
//! case-sensitive.
//!
//! # Arithmetic
//!
//! Prices are USD per million tokens. The canonical [`TokenUsage`] counts
//! cached prompt tokens inside `input_tokens` (every dialect's decoder adds
//! Anthropic's and Bedrock's cache reads and writes to input), and
//! reasoning tokens inside `output_tokens` (OpenAI's `completion_tokens`
//! include them; Gemini's thoughts are added to output). So:
//!
//! ```text
//! cost = ((input - cached) * price.input
//!         + cached * price.cached_input (default price.input)
//!         + output * price.output) / 1e6
//! ```
//!
//! Cache writes are priced as ordinary input (Anthropic bills them at
//! 1.25x), long-context tiers and batch discounts are not modelled.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use switchyard_protocol::canonical::TokenUsage;
use switchyard_routing::Glob;

use crate::price_list::BUILT_IN;

/// One model's price, USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached prompt tokens; `None`: `input`.
    pub cached_input: Option<f64>,
}

impl Price {
    /// What `usage` costs at this price, in USD (see [`cost`]).
    pub fn cost(&self, usage: &TokenUsage) -> f64 {
        cost(self, usage)
    }
}

/// What `usage` costs at `price`, in USD: cached prompt tokens (a part of
/// `input_tokens`) at `cached_input` (default `input`), the rest of the
/// prompt at `input`, output (reasoning included) at `output`.
pub fn cost(price: &Price, usage: &TokenUsage) -> f64 {
    let cached = usage.cached_tokens.min(usage.input_tokens);
    let fresh = usage.input_tokens - cached;
    (fresh as f64 * price.input
        + cached as f64 * price.cached_input.unwrap_or(price.input)
        + usage.output_tokens as f64 * price.output)
        / 1_000_000.0
}

/// Prices by exact name, and globs in the order they are tried.
#[derive(Debug, Default)]
struct Entries {
    exact: HashMap<Box<str>, Price>,
    globs: Vec<(Glob, Price)>,
}

impl Entries {
    fn build<'a>(entries: impl IntoIterator<Item = (&'a str, Price)>) -> Entries {
        let mut out = Entries::default();
        for (pattern, price) in entries {
            let g = Glob::new(pattern);
            if g.is_literal() {
                out.exact.entry(pattern.into()).or_insert(price);
            } else if !out.globs.iter().any(|(x, _)| x.as_str() == pattern) {
                out.globs.push((g, price));
            }
        }
        out.globs.sort_by(|(a, _), (b, _)| {
            let (a, b) = (a.as_str(), b.as_str());
            literal_chars(b)
                .cmp(&literal_chars(a))
                .then(b.len().cmp(&a.len()))
                .then(a.cmp(b))
        });
        out
    }

    fn find(&self, model: &str) -> Option<&Price> {
        self.exact.get(model).or_else(|| {
            self.globs
                .iter()
                .find(|(g, _)| g.matches(model))
                .map(|(_, p)| p)
        })
    }

    /// The price of the first of `model`'s forms (see [`forms`]) found.
    fn find_any(&self, model: &str) -> Option<&Price> {
        forms(model)
            .into_iter()
            .flatten()
            .find_map(|m| self.find(m))
    }
}

fn literal_chars(pattern: &str) -> usize {
    pattern.chars().filter(|c| !matches!(c, '*' | '?')).count()
}

/// The names a model is looked up by: as given, after its last `/`, and
/// that without vendor and region prefixes (`us.anthropic.`).
fn forms(model: &str) -> [Option<&str>; 3] {
    let base = model.rsplit_once('/').map_or(model, |(_, b)| b);
    let mut bare = base;
    while let Some((head, rest)) = bare.split_once('.') {
        if head.is_empty() || rest.is_empty() || !head.bytes().all(|b| b.is_ascii_lowercase()) {
            break;
        }
        bare = rest;
    }
    [
        Some(model),
        Some(base).filter(|b| *b != model),
        Some(bare).filter(|b| *b != base),
    ]
}

fn built_in() -> &'static Entries {
    static TABLE: OnceLock<Entries> = OnceLock::new();
    TABLE.get_or_init(|| {
        Entries::build(BUILT_IN.iter().map(|&(m, input, cached_input, output)| {
            (
                m,
                Price {
                    input,
                    output,
                    cached_input,
                },
            )
        }))
    })
}

/// The built-in prices with the config's over them; see the module
/// documentation for the order of lookup. Built once per configuration,
/// shared by every request.
#[derive(Debug)]
pub struct PriceTable {
    config: Entries,
    built_in: &'static Entries,
    /// What [`PriceTable::find`] answered, per model name, up to
    /// [`MEMO_MAX`] names: a model is priced on every request, and its
    /// forms searched through the globs cost more than one hash.
    memo: RwLock<HashMap<Box<str>, Option<Price>>>,
}

/// Model names remembered per table (one table per configuration).
const MEMO_MAX: usize = 4096;

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable::new(std::iter::empty::<(&str, Price)>())
    }
}

impl PriceTable {
    /// The built-in table with `overrides` (model names or globs) over it.
    pub fn new<S: AsRef<str>>(overrides: impl IntoIterator<Item = (S, Price)>) -> PriceTable {
        let overrides: Vec<(S, Price)> = overrides.into_iter().collect();
        PriceTable {
            config: Entries::build(overrides.iter().map(|(m, p)| (m.as_ref(), *p))),
            built_in: built_in(),
            memo: RwLock::default(),
        }
    }

    /// The price of a request's model: the one sent `upstream` first, then
    /// the one the client `requested`. `None`: neither has a price.
    pub fn lookup(&self, upstream: &str, requested: Option<&str>) -> Option<Price> {
        self.find(upstream)
            .or_else(|| requested.and_then(|r| self.find(r)))
    }

    /// The price of one model name: the config's, else the built-in one.
    pub fn find(&self, model: &str) -> Option<Price> {
        if let Ok(memo) = self.memo.read()
            && let Some(found) = memo.get(model)
        {
            return *found;
        }
        let found = self
            .config
            .find_any(model)
            .or_else(|| self.built_in.find_any(model))
            .copied();
        if let Ok(mut memo) = self.memo.write()
            && memo.len() < MEMO_MAX
        {
            memo.insert(model.into(), found);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: cached,
            ..TokenUsage::default()
        }
    }

    fn price(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cached_input: None,
        }
    }

    fn io(p: Option<Price>) -> Option<(f64, f64)> {
        p.map(|p| (p.input, p.output))
    }

    #[test]
    fn answers_are_remembered_per_name_and_bounded() {
        let p = Price {
            input: 1.0,
            output: 2.0,
            cached_input: None,
        };
        let t = PriceTable::new([("team-*", p)]);
        for _ in 0..2 {
            assert_eq!(t.find("team-a"), Some(p));
            assert_eq!(io(t.find("gpt-4o")), Some((2.5, 10.0)));
            assert_eq!(t.find("no-such-model-xyz"), None);
        }
        for i in 0..MEMO_MAX + 10 {
            assert_eq!(t.find(&format!("team-{i}")), Some(p));
        }
        assert_eq!(t.memo.read().unwrap().len(), MEMO_MAX);
        assert_eq!(t.find("team-past-the-bound"), Some(p));
    }

    #[test]
    fn built_in_globs_most_specific_first() {
        let t = PriceTable::default();
        assert_eq!(io(t.find("gpt-4o")), Some((2.5, 10.0)));
        assert_eq!(io(t.find("gpt-4o-2024-11-20")), Some((2.5, 10.0)));
        assert_eq!(io(t.find("gpt-4o-2024-05-13")), Some((5.0, 15.0)));
        assert_eq!(io(t.find("gpt-4o-mini")), Some((0.15, 0.6)));
        assert_eq!(io(t.find("gpt-4o-mini-2024-07-18")), Some((0.15, 0.6)));
        assert_eq!(io(t.find("gpt-4.1-nano-2025-04-14")), Some((0.1, 0.4)));
        assert_eq!(io(t.find("gpt-4.1-2025-04-14")), Some((2.0, 8.0)));
        assert_eq!(io(t.find("gpt-5-mini-2025-08-07")), Some((0.25, 2.0)));
        assert_eq!(io(t.find("gpt-5-2025-08-07")), Some((1.25, 10.0)));
        assert_eq!(io(t.find("o3-mini-2025-01-31")), Some((1.1, 4.4)));
        assert_eq!(io(t.find("o3-pro")), Some((20.0, 80.0)));
        assert_eq!(io(t.find("claude-3-5-haiku-20241022")), Some((0.8, 4.0)));
        assert_eq!(io(t.find("claude-opus-4-5-20251101")), Some((5.0, 25.0)));
        assert_eq!(io(t.find("claude-opus-4-20250514")), Some((15.0, 75.0)));
        assert_eq!(io(t.find("gemini-2.5-flash-lite")), Some((0.1, 0.4)));
        assert_eq!(io(t.find("gemini-1.5-flash-8b-001")), Some((0.0375, 0.15)));
        assert_eq!(io(t.find("gemini-1.5-flash-002")), Some((0.075, 0.3)));
        assert_eq!(io(t.find("text-embedding-3-small")), Some((0.02, 0.0)));
        // Unknown variants stay unpriced rather than priced wrongly.
        assert_eq!(t.find("gpt-5.9"), None);
        assert_eq!(t.find("gemini-2.5-flash-image"), None);
        assert_eq!(t.find("llama3"), None);
        assert_eq!(t.find(""), None);
    }

    #[test]
    fn vendor_prefixes_and_paths() {
        let t = PriceTable::default();
        let sonnet = Some((3.0, 15.0));
        assert_eq!(
            io(t.find("us.anthropic.claude-3-5-sonnet-20241022-v2:0")),
            sonnet
        );
        assert_eq!(io(t.find("anthropic/claude-3-7-sonnet-latest")), sonnet);
        assert_eq!(io(t.find("claude-sonnet-4@20250514")), sonnet);
        assert_eq!(io(t.find("models/gemini-2.5-pro")), Some((1.25, 10.0)));
        assert_eq!(io(t.find("amazon.nova-lite-v1:0")), Some((0.06, 0.24)));
        // A dot inside a model name is not a vendor prefix.
        assert_eq!(forms("gpt-4.1")[2], None);
        assert_eq!(forms("glm-4.6"), [Some("glm-4.6"), None, None]);
    }

    #[test]
    fn upstream_model_first_then_requested() {
        let t = PriceTable::default();
        // Both priced: the one sent upstream.
        assert_eq!(
            io(t.lookup("gpt-4o", Some("gpt-4o-mini"))),
            Some((2.5, 10.0))
        );
        // A deployment name nobody prices: the requested model's.
        assert_eq!(
            io(t.lookup("my-deployment", Some("gpt-4o-mini"))),
            Some((0.15, 0.6))
        );
        assert_eq!(t.lookup("my-deployment", Some("mine-too")), None);
        assert_eq!(t.lookup("my-deployment", None), None);
    }

    #[test]
    fn config_entries_win() {
        let t = PriceTable::new([
            ("gpt-4o-mini", price(1.0, 2.0)),
            ("claude-*", price(7.0, 8.0)),
            ("my-*", price(0.5, 0.5)),
            ("my-model-*", price(0.25, 0.25)),
            ("my-m?del-x*", price(0.125, 0.125)),
        ]);
        // Same key as a built-in entry.
        assert_eq!(io(t.find("gpt-4o-mini")), Some((1.0, 2.0)));
        // The built-in glob still prices the dated name the config missed.
        assert_eq!(io(t.find("gpt-4o-mini-2024-07-18")), Some((0.15, 0.6)));
        // A config glob over a built-in exact or more specific entry.
        assert_eq!(io(t.find("claude-3-5-haiku-20241022")), Some((7.0, 8.0)));
        // Most literal characters, not order in the file.
        assert_eq!(io(t.find("my-other")), Some((0.5, 0.5)));
        assert_eq!(io(t.find("my-model-y")), Some((0.25, 0.25)));
        assert_eq!(io(t.find("my-model-x1")), Some((0.125, 0.125)));
        // A requested model priced by config does not beat a served one
        // priced by the built-in table: the served model comes first.
        assert_eq!(io(t.lookup("gpt-4.1", Some("my-alias"))), Some((2.0, 8.0)));
        assert_eq!(io(t.lookup("unknown", Some("my-alias"))), Some((0.5, 0.5)));
    }

    #[test]
    fn glob_order_ties() {
        let e = Entries::build([
            ("a*", price(1.0, 0.0)),
            ("a*b*", price(2.0, 0.0)),
            ("*b", price(3.0, 0.0)),
            ("ab*", price(4.0, 0.0)),
        ]);
        let order: Vec<&str> = e.globs.iter().map(|(g, _)| g.as_str()).collect();
        // Two literal characters: the longer pattern, then by text.
        assert_eq!(order, ["a*b*", "ab*", "*b", "a*"]);
        assert_eq!(e.find("abb").map(|p| p.input), Some(2.0));
        assert_eq!(e.find("ab").map(|p| p.input), Some(2.0));
        assert_eq!(e.find("ac").map(|p| p.input), Some(1.0));
    }

    #[test]
    fn cost_arithmetic() {
        let p = Price {
            input: 2.5,
            output: 10.0,
            cached_input: Some(1.25),
        };
        // 1000 prompt tokens of which 400 cached, 500 output.
        let c = cost(&p, &usage(1000, 400, 500));
        assert_eq!(c, (600.0 * 2.5 + 400.0 * 1.25 + 500.0 * 10.0) / 1e6);
        assert!((c - 0.007).abs() < 1e-15);
        // No cached price: cached tokens cost input.
        let q = price(2.5, 10.0);
        assert!((q.cost(&usage(1000, 400, 500)) - 0.0075).abs() < 1e-15);
        // Reasoning is part of output, never added again.
        let mut u = usage(0, 0, 100);
        u.reasoning_tokens = 80;
        assert!((cost(&q, &u) - 0.001).abs() < 1e-15);
        // Cached beyond input (a bad report) never goes negative.
        assert!((cost(&p, &usage(10, 50, 0)) - 10.0 * 1.25 / 1e6).abs() < 1e-18);
        assert_eq!(cost(&p, &TokenUsage::default()), 0.0);
        // Cache writes are input.
        let mut w = usage(100, 0, 0);
        w.cache_creation_tokens = 60;
        assert!((cost(&q, &w) - 100.0 * 2.5 / 1e6).abs() < 1e-18);
    }

    #[test]
    fn built_in_table_is_sane() {
        let mut seen = std::collections::HashSet::new();
        for &(m, input, cached, output) in BUILT_IN {
            assert!(seen.insert(m), "{m} listed twice");
            assert!(input > 0.0 && output >= 0.0, "{m}");
            if let Some(c) = cached {
                assert!(c > 0.0 && c < input, "{m}");
            }
            // Every entry is reachable: its own name finds it.
            let probe = m.replace('*', "-x").replace('?', "x");
            let t = PriceTable::default();
            assert!(t.find(&probe).is_some(), "{m}");
        }
    }
}
