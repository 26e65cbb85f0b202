//! Resident memory and time of loading a BPE table: this crate's compact
//! table, or tiktoken-rs's `CoreBPE` (what the crate used before), then of
//! counting some text with it; `regex` measures the pre-tokenizer regex
//! alone (pieces are counted instead of tokens).
//!
//! `cargo test -p switchyard-tokens` builds it (dev profile); run
//! `$CARGO_TARGET_DIR/debug/examples/table_memory [compact|tiktoken|regex] [o200k|cl100k]`
//! (one table per process, so the figures are that table's alone).
//! For optimised figures without a release build of the workspace, add
//! `--config profile.dev.package.<crate>.opt-level=3` and
//! `--config profile.dev.package.<crate>.debug-assertions=false` for
//! `switchyard-tokens`, `tiktoken-rs` and `fancy-regex` to the cargo command.

use std::error::Error;
use std::time::Instant;

use switchyard_tokens::{Encoding, count_text, preload};

/// `VmRSS` and `VmHWM` (peak) of this process, KiB.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("compact", String::as_str);
    let (encoding, model) = match args.get(2).map_or("o200k", String::as_str) {
        "cl100k" => (Encoding::Cl100kBase, "gpt-4"),
        _ => (Encoding::O200kBase, "gpt-4o"),
    };
    let text = [
        include_str!("../testdata/english.txt"),
        include_str!("../testdata/chinese.txt"),
        include_str!("../testdata/japanese.txt"),
        include_str!("../src/engine.rs"),
    ]
    .concat()
    .repeat(20);

    let (before, _) = rss();
    let start = Instant::now();
    let tokens;
    let load;
    let after_load;
    let counted_at;
    let after_count;
    match which {
        "regex" => {
            // The pre-tokenizer alone, as the compact table compiles it.
            let pattern = match encoding {
                Encoding::O200kBase => tiktoken_rs::O200K_BASE_PAT_STR,
                Encoding::Cl100kBase => return Err("regex mode: o200k only".into()),
            };
            let regex = fancy_regex::Regex::new(pattern)?;
            load = start.elapsed();
            after_load = rss().0;
            tokens = regex.find_iter(&text).count() as u64;
            counted_at = start.elapsed();
            after_count = rss();
        }
        "tiktoken" => {
            let bpe = match encoding {
                Encoding::O200kBase => tiktoken_rs::o200k_base()?,
                Encoding::Cl100kBase => tiktoken_rs::cl100k_base()?,
            };
            load = start.elapsed();
            after_load = rss().0;
            tokens = bpe.encode_ordinary(&text).len() as u64;
            counted_at = start.elapsed();
            after_count = rss(); // before `bpe` is dropped
        }
        _ => {
            if !preload(encoding) {
                return Err("the table did not load".into());
            }
            load = start.elapsed();
            after_load = rss().0;
            tokens = count_text(model, &text);
            counted_at = start.elapsed();
            after_count = rss();
        }
    }
    let counting = counted_at.saturating_sub(load);
    let (after_count, peak) = after_count;
    println!(
        "{which} {}: load {load:.1?}; RSS {before} KiB before, {after_load} KiB after load \
         (+{} KiB), {after_count} KiB after counting {} KiB of text ({tokens} tokens, \
         {counting:.1?}); peak {peak} KiB",
        encoding.name(),
        after_load.saturating_sub(before),
        text.len() / 1024,
    );
    Ok(())
}
