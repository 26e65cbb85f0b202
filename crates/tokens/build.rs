//! Turns the vendored tiktoken tables (`assets/*.tiktoken`: one token a
//! line, base64 bytes then rank) into the compact form the crate embeds, so
//! the binary carries raw token bytes instead of base64 text and nothing is
//! decoded at run time.
//!
//! Output, `$OUT_DIR/<name>.bin`: the token count `n` (u32, little endian),
//! then `n` token lengths (one byte each, in rank order), then the tokens'
//! bytes concatenated in rank order. Ranks must run 0..n without gaps,
//! tokens must be 1 to 255 bytes and distinct; anything else fails the
//! build.

use std::collections::HashSet;
use std::error::Error;
use std::path::PathBuf;

const TABLES: [&str; 2] = ["o200k_base", "cl100k_base"];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    for name in TABLES {
        let src = format!("assets/{name}.tiktoken");
        println!("cargo::rerun-if-changed={src}");
        let text = std::fs::read_to_string(&src).map_err(|e| format!("{src}: {e}"))?;
        let blob = compact(&text).map_err(|e| format!("{src}: {e}"))?;
        std::fs::write(out.join(format!("{name}.bin")), blob)?;
    }
    Ok(())
}

fn compact(text: &str) -> Result<Vec<u8>, String> {
    let mut lens = Vec::new();
    let mut bytes = Vec::new();
    let mut seen = HashSet::new();
    for (line_no, line) in text.lines().enumerate() {
        let at = |what: &str| format!("line {}: {what}", line_no + 1);
        let mut parts = line.split(' ');
        let (Some(b64), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(at("expected `<base64> <rank>`"));
        };
        let rank: usize = rank.parse().map_err(|_| at("bad rank"))?;
        if rank != lens.len() {
            return Err(at(&format!("rank {rank}, expected {}", lens.len())));
        }
        let token = decode_base64(b64).ok_or_else(|| at("bad base64"))?;
        let len = u8::try_from(token.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| at("token of 0 or over 255 bytes"))?;
        if !seen.insert(token.clone()) {
            return Err(at("duplicate token"));
        }
        lens.push(len);
        bytes.extend_from_slice(&token);
    }
    let n = u32::try_from(lens.len()).map_err(|_| "too many tokens".to_string())?;
    let mut blob = Vec::with_capacity(4 + lens.len() + bytes.len());
    blob.extend_from_slice(&n.to_le_bytes());
    blob.extend_from_slice(&lens);
    blob.extend_from_slice(&bytes);
    Ok(blob)
}

/// Standard base64 with optional `=` padding.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    let data = s.trim_end_matches('=');
    for c in data.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be padding zeros.
    (acc == 0 && bits < 6).then_some(out)
}
