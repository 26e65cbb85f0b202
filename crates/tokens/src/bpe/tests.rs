//! The compact table against tiktoken-rs: the same tokens at the same
//! ranks, and the same count for every text tried.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use super::*;
use crate::engine::{Heuristic, Segmenter, table};
use crate::tests::{CHINESE, CODE, ENGLISH, JAPANESE};

const BOTH: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

fn ours(encoding: Encoding) -> &'static Bpe {
    table(encoding).expect("the compact table loads")
}

fn theirs(encoding: Encoding) -> &'static CoreBPE {
    static O200K: OnceLock<CoreBPE> = OnceLock::new();
    static CL100K: OnceLock<CoreBPE> = OnceLock::new();
    match encoding {
        Encoding::O200kBase => O200K.get_or_init(|| tiktoken_rs::o200k_base().unwrap()),
        Encoding::Cl100kBase => CL100K.get_or_init(|| tiktoken_rs::cl100k_base().unwrap()),
    }
}

/// tiktoken-rs's count: `encode` with no special token allowed, which is
/// `encode_ordinary` reporting a regex failure (`None`) instead of
/// panicking on it.
fn reference(encoding: Encoding, text: &str) -> Option<u64> {
    let none = HashSet::new();
    let (tokens, _) = theirs(encoding).encode(text, &none).ok()?;
    Some(tokens.len() as u64)
}

fn assert_same(encoding: Encoding, name: &str, text: &str) {
    let want = reference(encoding, text);
    let got = ours(encoding).count(text);
    if got != want {
        // Name the first differing piece for the report.
        let regex = Regex::new(match encoding {
            Encoding::O200kBase => O200K_PATTERN,
            Encoding::Cl100kBase => CL100K_PATTERN,
        })
        .unwrap();
        let bad = regex
            .find_iter(text)
            .flatten()
            .find(|m| ours(encoding).count(m.as_str()) != reference(encoding, m.as_str()));
        panic!(
            "{encoding:?} {name}: ours {got:?}, tiktoken-rs {want:?}; first differing piece {:?}",
            bad.map(|m| m.as_str())
        );
    }
}

#[test]
fn patterns_are_tiktoken_rs_patterns() {
    assert_eq!(O200K_PATTERN, tiktoken_rs::O200K_BASE_PAT_STR);
    // cl100k's pattern is not exported by tiktoken-rs: the count tests
    // below are its check.
    for pattern in [O200K_PATTERN, CL100K_PATTERN] {
        assert!(Regex::new(pattern).is_ok());
    }
}

#[test]
fn tables_hold_tiktoken_tokens_at_their_ranks() {
    for (encoding, n) in [
        (Encoding::O200kBase, 199_998),
        (Encoding::Cl100kBase, 100_256),
    ] {
        let ranks = ours(encoding).ranks();
        assert_eq!(ranks.len(), n, "{encoding:?}");
        for rank in 0..n as Rank {
            let bytes = ranks.token_bytes(rank).unwrap();
            assert_eq!(
                Ok(bytes.to_vec()),
                theirs(encoding).decode_bytes(&[rank]).map_err(|e| e.token),
                "{encoding:?} rank {rank}"
            );
            assert_eq!(ranks.rank(bytes), Some(rank), "{encoding:?} {bytes:?}");
        }
        // No ordinary token past the last (the next ids are special or unused).
        assert!(theirs(encoding).decode_bytes(&[n as Rank]).is_err());
        // Every single byte is a token, as the merge relies on.
        for b in 0..=255u8 {
            assert!(ranks.rank(&[b]).is_some(), "{encoding:?} byte {b}");
        }
        for not_token in [
            &b""[..],
            &b"<|endoftext|>"[..],
            &b"\xff\xff\xff\xff\xff"[..],
            &[b'x'; 300][..],
        ] {
            assert_eq!(ranks.rank(not_token), None, "{encoding:?} {not_token:?}");
        }
    }
}

/// Memory of the tables: `cargo test -p switchyard-tokens footprint -- --nocapture`.
#[test]
fn footprint() {
    for (encoding, max_heap) in [
        (Encoding::O200kBase, 4 << 20),
        (Encoding::Cl100kBase, 2 << 20),
    ] {
        let (heap, embedded) = ours(encoding).ranks().footprint();
        println!(
            "{encoding:?}: {:.2} MiB of heap (offsets and index), {:.2} MiB of token data in the binary",
            heap as f64 / (1 << 20) as f64,
            embedded as f64 / (1 << 20) as f64,
        );
        assert!(heap <= max_heap, "{encoding:?}: {heap} bytes of heap");
    }
}

/// Texts of every kind the counts meet, and shapes that reach each branch
/// of the merge (whole-token pieces, short merges, pieces of 100+ bytes).
fn samples() -> Vec<(String, String)> {
    let mut rng = fastrand::Rng::with_seed(12);
    let hex: String = (0..600)
        .map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)]))
        .collect();
    let base64: String = (0..3000)
        .map(|_| {
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [rng.usize(..64)],
            )
        })
        .collect();
    let lower: String = (0..1500).map(|_| rng.lowercase()).collect();
    let upper: String = (0..700).map(|_| rng.uppercase()).collect();
    let json = serde_json::json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": ENGLISH}],
        "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "n": [1, 2.5, -3e10, null, true],
    });
    let mut texts: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("english", ENGLISH.to_string()),
        ("chinese", CHINESE.to_string()),
        ("japanese", JAPANESE.to_string()),
        ("code", CODE.to_string()),
        ("this file", include_str!("tests.rs").to_string()),
        ("lib.rs", include_str!("../lib.rs").to_string()),
        ("json", json.to_string()),
        ("json pretty", serde_json::to_string_pretty(&json).unwrap()),
        ("hex", hex.clone()),
        ("hex words", hex.as_bytes().chunks(40).map(|c| String::from_utf8_lossy(c) + " ").collect()),
        ("base64", base64.clone()),
        ("base64 lines", base64.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c) + "\n").collect()),
        ("lowercase run", lower.clone()),
        ("uppercase run", upper),
        ("mixed case run", lower.chars().enumerate().map(|(i, c)| if i % 7 == 0 { c.to_ascii_uppercase() } else { c }).collect()),
        ("a run", "a".repeat(5000)),
        ("spaces", " ".repeat(3000)),
        ("spaces then word", " ".repeat(3000) + "word"),
        ("tabs and newlines", "\t\t \n\n\r\n  \t\n".repeat(300)),
        ("whitespace before text", "x   \n\n   y \t z\u{a0}\u{3000}w".repeat(50)),
        ("newlines", "\n".repeat(2000)),
        ("crlf text", "line one\r\nline two\r\n\r\n  indented\r\n".repeat(40)),
        ("punctuation", "!!!???...,,,;;;:::---___===+++***&&&%%%$$$###@@@^^^~~~```|||\\\\\\///".repeat(20)),
        ("digits", "1234567890".repeat(200)),
        ("numbers", "3.14159 -42 1e10 0x1F 1,000,000 2026-12-05T03:31:29Z 99.9% ".repeat(30)),
        ("contractions", "I'm sure you're right, they'll say it's THEY'LL, WE'VE, I'D, she'S don't ".repeat(30)),
        ("special tokens", "<|endoftext|><|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|><|im_start|>user".repeat(10)),
        ("special in text", "Hello<|endoftext|>world <|endoftext|> and <|endofprompt|>.".to_string()),
        ("emoji", "👩‍👩‍👧‍👦🏳️‍🌈😀🎉👍🏽🇫🇷❤️‍🔥 ".repeat(60)),
        ("emoji run", "😀🎉🚀".repeat(300)),
        ("cjk run", CHINESE.chars().filter(|c| !c.is_ascii_punctuation() && !c.is_whitespace() && !('\u{3000}'..='\u{303f}').contains(c) && !('\u{ff00}'..='\u{ffef}').contains(c)).collect()),
        ("korean", "안녕하세요 세계! 한국어 텍스트입니다. ".repeat(50)),
        ("arabic", "مرحبا بالعالم، هذا نص عربي. ".repeat(50)),
        ("hindi", "नमस्ते दुनिया, यह हिंदी पाठ है। ".repeat(50)),
        ("cyrillic", "Привет, мир! Это русский текст. ".repeat(50)),
        ("greek", "Γειά σου Κόσμε, ΑΥΤΌ ΕΊΝΑΙ κείμενο. ".repeat(50)),
        ("thai", "สวัสดีชาวโลก นี่คือข้อความภาษาไทย".repeat(30)),
        ("combining marks", "e\u{301}\u{302}\u{303}a\u{308}".repeat(300)),
        ("accented", "Ça va? Où est l'hôpital? Größe, façade, naïve, Ångström. ".repeat(30)),
        ("url", "https://example.com/path/to/resource?query=value&other=123#fragment /usr/local/bin/ ".repeat(30)),
        ("control", "\0\u{1}\u{7f}\u{feff}\u{200b}\u{10ffff}\u{fffd}".repeat(50)),
        ("html", "<div class=\"a\"><p>Hello &amp; <b>world</b></p></div>\n".repeat(40)),
        ("markdown", "# Title\n\n- item *one*\n- item `two`\n\n```rust\nfn main() {}\n```\n".repeat(30)),
    ];
    // Long single pieces: over 100 bytes each, not tokens.
    for len in [99, 100, 101, 150, 257, 1000] {
        texts.push(("long word", (0..len).map(|_| rng.lowercase()).collect()));
    }
    texts.into_iter().map(|(n, t)| (n.to_string(), t)).collect()
}

#[test]
fn counts_match_tiktoken_on_samples() {
    let samples = samples();
    for encoding in BOTH {
        for (name, text) in &samples {
            assert_same(encoding, name, text);
        }
    }
}

/// Every text under shared/fixtures: each file whole, and every string in
/// its JSON (request and response bodies, stream events).
fn fixture_texts() -> Vec<(String, String)> {
    fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    strings(v, out);
                }
            }
            _ => {}
        }
    }
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let name = path.display().to_string();
            let mut found = Vec::new();
            // Whole JSON files, JSON lines, and the `data:` lines of SSE.
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                strings(&v, &mut found);
            }
            for line in text.lines() {
                let line = line.strip_prefix("data:").unwrap_or(line).trim();
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                    strings(&v, &mut found);
                }
            }
            out.push((name.clone(), text));
            found.sort();
            found.dedup();
            out.extend(found.into_iter().map(|s| (name.clone(), s)));
        }
    }
    let mut out = Vec::new();
    walk(Path::new(FIXTURES), &mut out);
    out
}

#[test]
fn counts_match_tiktoken_on_fixtures() {
    let texts = fixture_texts();
    let files: HashSet<&str> = texts.iter().map(|(name, _)| name.as_str()).collect();
    assert!(files.len() > 400, "{} fixture files found", files.len());
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    for encoding in BOTH {
        let mut tokens = 0;
        for (name, text) in &texts {
            assert_same(encoding, name, text);
            tokens += ours(encoding).count(text).unwrap_or(0);
        }
        println!(
            "{encoding:?}: {} texts from {} fixture files, {bytes} bytes, {tokens} tokens, all equal",
            texts.len(),
            files.len()
        );
    }
}

/// A random string from a mix of the character classes the patterns treat
/// apart, in runs, so pieces of every length occur.
fn random_text(rng: &mut fastrand::Rng) -> String {
    const POOLS: &[&str] = &[
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " ",
        "  \t\n\r\u{a0}\u{3000}",
        "'sStTdDmMlLvVeErR",
        ".,;:!?-_()[]{}<>/\\|\"'`~@#$%^&*+=",
        "éèêëàâäôöùûüçñßøåæœÉÀÖÜ",
        "你好世界中文字符测试東京日本語",
        "ひらがなカタカナーァィ",
        "한국어텍스트",
        "привет мир ΑΒΓαβγ",
        "😀🎉🚀👍🏽❤️‍🔥👩‍👩‍👧",
        "\u{301}\u{308}\u{200d}\u{fe0f}",
        "<|endoftext|>",
    ];
    let len = rng.usize(0..400);
    let mut s = String::new();
    while s.len() < len {
        let longest = if rng.u8(..) < 20 { 150 } else { 12 };
        let run = rng.usize(1..=longest);
        if rng.u8(..) < 30 {
            // Any char at all.
            for _ in 0..run {
                s.push(rng.char(..));
            }
        } else {
            let pool: Vec<char> = POOLS[rng.usize(..POOLS.len())].chars().collect();
            for _ in 0..run {
                s.push(pool[rng.usize(..pool.len())]);
            }
        }
    }
    s
}

#[test]
fn counts_match_tiktoken_on_random_text() {
    let mut rng = fastrand::Rng::with_seed(2026);
    for i in 0..3000 {
        let text = random_text(&mut rng);
        for encoding in BOTH {
            assert_same(encoding, &format!("random #{i}"), &text);
        }
    }
}

/// The engine (chunks from the segmenter, the heuristic where the regex
/// fails) counts as it did with tiktoken-rs's CoreBPE in its place.
#[test]
fn engine_counts_as_with_core_bpe() {
    let old = |encoding: Encoding, text: &str| {
        let mut seg = Segmenter::default();
        let mut total = 0u64;
        let mut count = |chunk: &str| {
            total += reference(encoding, chunk).unwrap_or_else(|| {
                let mut h = Heuristic::default();
                h.push(chunk);
                h.tokens()
            })
        };
        seg.push(text, &mut count);
        seg.finish(&mut count);
        total
    };
    let big = [
        ENGLISH.repeat(20),
        CHINESE.repeat(10),
        " ".repeat(100_000),
        "x".repeat(20_000),
        "a b\n".repeat(10_000),
    ];
    let mut texts: Vec<String> = samples().into_iter().map(|(_, t)| t).collect();
    texts.extend(big);
    for encoding in BOTH {
        for text in &texts {
            let model = match encoding {
                Encoding::O200kBase => "gpt-4o",
                Encoding::Cl100kBase => "gpt-4",
            };
            assert_eq!(
                crate::count_text(model, text),
                old(encoding, text),
                "{encoding:?} {:?}",
                text.get(..60)
            );
        }
    }
}

/// Counting speed against tiktoken-rs on the same text, no segmenter:
/// `cargo test -p switchyard-tokens count_speed -- --ignored --nocapture`
/// (in the dev profile this crate is built at opt-level 0 and tiktoken-rs
/// at 1; pass `--config 'profile.dev.package.switchyard-tokens.opt-level=1'`
/// to compare like with like).
#[test]
#[ignore]
fn count_speed() {
    use std::time::Instant;
    let text = [ENGLISH, CHINESE, JAPANESE, CODE].concat().repeat(20);
    for encoding in BOTH {
        let (ours, theirs) = (ours(encoding), theirs(encoding));
        let rounds = 5;
        let t = Instant::now();
        let mut a = 0;
        for _ in 0..rounds {
            a += ours.count(std::hint::black_box(&text)).unwrap();
        }
        let ours_time = t.elapsed() / rounds;
        let t = Instant::now();
        let mut b = 0;
        for _ in 0..rounds {
            b += theirs.encode_ordinary(std::hint::black_box(&text)).len() as u64;
        }
        let theirs_time = t.elapsed() / rounds;
        assert_eq!(a, b);
        println!(
            "{encoding:?}, {} KiB: compact table {ours_time:.1?}, tiktoken-rs {theirs_time:.1?}",
            text.len() / 1024
        );
    }
}

/// Where the regex gives up (fancy-regex's backtracking limit: with the
/// default one, seen on a megabyte of spaces between two words, which the
/// segmenter never hands over whole), the count says so and the engine
/// counts that chunk with the heuristic, as it did when tiktoken-rs's
/// `encode` returned an error.
#[test]
fn regex_failure_falls_back_to_the_heuristic() {
    let bpe = Bpe {
        ranks: RankTable::from_blob(O200K_BLOB).unwrap(),
        regex: fancy_regex::RegexBuilder::new(O200K_PATTERN)
            .backtrack_limit(1)
            .build()
            .unwrap(),
    };
    let text = format!("word{}x", " ".repeat(1000));
    assert_eq!(bpe.count(&text), None);
    let mut h = Heuristic::default();
    h.push(&text);
    assert_eq!(crate::engine::bpe_count(&bpe, &text), h.tokens());
    // With the default limit, the same text is counted.
    assert_eq!(
        ours(Encoding::O200kBase).count(&text),
        reference(Encoding::O200kBase, &text)
    );
    assert!(reference(Encoding::O200kBase, &text).is_some());
}
