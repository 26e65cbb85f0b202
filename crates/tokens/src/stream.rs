//! Counting output tokens as a stream goes by.

use crate::bpe::Bpe;
use crate::engine::{Engine, Heuristic, Segmenter, bpe_count};
use crate::method::{Method, method_for};

/// Counts the tokens of streamed output without keeping the whole text.
///
/// Feed it every text fragment the model produces (content, reasoning text,
/// tool-call argument fragments) with [`push_text`](Self::push_text), then
/// call [`finish`](Self::finish). Text is tokenized in chunks cut where the
/// tokenizer would split anyway, so the total equals
/// [`count_text`](crate::count_text) of the concatenated text, except where a
/// run of more than 4 KiB has no space or punctuation (a long CJK run, a
/// base64 blob): such a run is cut blindly, costing about one token per cut.
/// At most 4 KiB of text is held between calls.
pub struct OutputCounter {
    method: Method,
    engine: EngineState,
    total: u64,
}

enum EngineState {
    Bpe(&'static Bpe, Segmenter),
    Heuristic(Heuristic),
}

impl OutputCounter {
    /// A counter for `model` (see [`method_for`]). For an OpenAI-family
    /// model this loads its BPE table if it is not loaded yet; an
    /// approximate model loads none.
    pub fn new(model: &str) -> Self {
        Self::with_method(method_for(model))
    }

    /// A counter with an explicit method.
    pub fn with_method(method: Method) -> Self {
        let engine = match Engine::for_method(method) {
            Engine::Bpe(bpe) => EngineState::Bpe(bpe, Segmenter::default()),
            Engine::Heuristic => EngineState::Heuristic(Heuristic::default()),
        };
        OutputCounter {
            method,
            engine,
            total: 0,
        }
    }

    /// How this counter counts.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Add a fragment of output text.
    pub fn push_text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let total = &mut self.total;
        match &mut self.engine {
            EngineState::Bpe(bpe, seg) => {
                let bpe: &Bpe = bpe;
                seg.push(s, |chunk| {
                    *total = total.saturating_add(bpe_count(bpe, chunk))
                });
            }
            EngineState::Heuristic(h) => h.push(s),
        }
    }

    /// The number of output tokens pushed so far, as an estimate.
    pub fn finish(self) -> u64 {
        let mut total = self.total;
        match self.engine {
            EngineState::Bpe(bpe, mut seg) => {
                seg.finish(|chunk| total = total.saturating_add(bpe_count(bpe, chunk)));
            }
            EngineState::Heuristic(h) => total = total.saturating_add(h.tokens()),
        }
        total
    }

    #[cfg(test)]
    fn buffered(&self) -> (usize, usize) {
        match &self.engine {
            EngineState::Bpe(_, seg) => seg.buffered(),
            EngineState::Heuristic(_) => (0, 0),
        }
    }
}

impl std::fmt::Debug for OutputCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputCounter")
            .field("method", &self.method)
            .field("counted", &self.total)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count_text;
    use crate::engine::MAX_CHUNK;
    use crate::tests::{CHINESE, CODE, ENGLISH, JAPANESE};

    /// Push `text` in random fragments of 1..=max_len bytes (on char
    /// boundaries), as a stream delivers it.
    fn push_fragmented(c: &mut OutputCounter, text: &str, rng: &mut fastrand::Rng, max_len: usize) {
        let mut rest = text;
        while !rest.is_empty() {
            let mut n = rng.usize(1..=max_len).min(rest.len());
            while !rest.is_char_boundary(n) {
                n += 1;
            }
            let (piece, tail) = rest.split_at(n);
            c.push_text(piece);
            rest = tail;
        }
    }

    fn check(model: &str, name: &str, text: &str, exact: bool) {
        let whole = count_text(model, text);
        let mut rng = fastrand::Rng::with_seed(7);
        for max_len in [1, 3, 8, 40, 300, 5000] {
            let mut c = OutputCounter::new(model);
            push_fragmented(&mut c, text, &mut rng, max_len);
            let (len, cap) = c.buffered();
            assert!(
                len <= MAX_CHUNK && cap <= 2 * MAX_CHUNK,
                "{name}: {len}/{cap}"
            );
            let streamed = c.finish();
            let diff = streamed.abs_diff(whole);
            assert!(
                diff * 50 <= whole,
                "{name} ({model}, fragments ≤{max_len}): streamed {streamed}, whole {whole}"
            );
            if exact {
                assert_eq!(streamed, whole, "{name} ({model}, fragments ≤{max_len})");
            }
        }
    }

    #[test]
    fn fragments_count_like_the_whole() {
        let english = ENGLISH.repeat(8);
        let code = CODE.repeat(3);
        let chinese = CHINESE.repeat(6);
        let japanese = JAPANESE.repeat(10);
        for model in ["gpt-4o", "gpt-4", "claude-sonnet-4-5"] {
            // Cut only where the tokenizer splits anyway: the same count.
            check(model, "english", &english, true);
            check(model, "code", &code, true);
            check(model, "chinese", &chinese, true);
            check(model, "japanese", &japanese, true);
        }
    }

    #[test]
    fn runs_without_cut_points_stay_within_two_percent() {
        // CJK without punctuation or spaces, and a base64-like blob: cut
        // blindly every 4 KiB, at different places in a stream than in
        // the whole text.
        let han: String = CHINESE
            .chars()
            .filter(|c| ('\u{4E00}'..='\u{9FFF}').contains(c))
            .collect();
        let han = han.repeat(8);
        let blob: String = {
            let mut rng = fastrand::Rng::with_seed(3);
            (0..60_000).map(|_| rng.alphanumeric()).collect()
        };
        for model in ["gpt-4o", "gpt-4"] {
            check(model, "han run", &han, false);
            check(model, "blob", &blob, false);
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let mut c = OutputCounter::new("gpt-4o");
        let mut rng = fastrand::Rng::with_seed(11);
        let mut pushed = 0usize;
        let mut most = 0usize;
        let han: String = CHINESE
            .chars()
            .filter(|c| !c.is_ascii_punctuation())
            .collect();
        while pushed < 2_000_000 {
            for text in [ENGLISH, han.as_str(), CODE] {
                push_fragmented(&mut c, text, &mut rng, 64);
                pushed += text.len();
                let (len, cap) = c.buffered();
                most = most.max(cap);
                assert!(len <= MAX_CHUNK, "{len} bytes held");
            }
        }
        // One huge fragment.
        c.push_text(&"x".repeat(1_000_000));
        let (len, cap) = c.buffered();
        assert!(len <= MAX_CHUNK && cap <= 2 * MAX_CHUNK, "{len}/{cap}");
        assert!(most <= 2 * MAX_CHUNK, "capacity {most}");
        assert!(c.finish() > 400_000);
    }

    #[test]
    fn empty_and_method() {
        let c = OutputCounter::new("gpt-4o");
        assert_eq!(c.method(), Method::Tiktoken(crate::Encoding::O200kBase));
        assert_eq!(c.finish(), 0);
        let mut c = OutputCounter::new("mistral-large");
        assert_eq!(c.method(), Method::Approximate);
        c.push_text("");
        c.push_text("hello");
        c.push_text(" world");
        // 11 characters at 4.2 a token.
        assert_eq!(c.finish(), 3);
        assert!(format!("{:?}", OutputCounter::new("x")).contains("Approximate"));
    }
}
