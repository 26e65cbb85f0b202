//! `RequestView::parse` + `Rewrite::apply`.
//!
//! Input: byte 0 = flags (bit 7: `include_usage`, bits 0..=5: length of the
//! new model name), then the model name (lossy UTF-8), then the body.
//!
//! The output is required to be valid JSON only when the input body is:
//! `RequestView::parse` accepts some bodies that are not (invalid UTF-8
//! inside strings of fields it skips, see README.md, finding 1), and the
//! byte-splicing rewrite rightly keeps those bytes as they are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::request::{RequestView, Rewrite};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let include_usage = flags & 0x80 != 0;
    let n = usize::from(flags & 0x3f).min(rest.len());
    let (model, body) = rest.split_at(n);
    let model = String::from_utf8_lossy(model);
    // The gateway never maps to an empty name ("" in modelMapping keeps the
    // requested one), and an empty `model` is a 400 by design.
    if model.trim().is_empty() {
        return;
    }

    let Ok(view) = RequestView::parse(body) else {
        return;
    };
    // Its one-pass scan accepts nothing serde_json refuses: a body it takes
    // is one valid JSON document (on UTF-8, which parse checks first).
    if let Ok(text) = std::str::from_utf8(body) {
        if let Err(e) = serde_json::from_str::<&serde_json::value::RawValue>(text) {
            panic!("parse accepted what serde_json refuses ({e}): {text:?}");
        }
    }
    let rw = Rewrite {
        model: Some(&model),
        include_usage,
    };
    let _ = rw.is_noop();
    match rw.apply(body, &view) {
        None => {
            assert_eq!(view.model, model, "apply did nothing although the model differs");
            assert!(!include_usage || view.include_usage, "apply did nothing although include_usage was asked");
        }
        Some(out) => {
            if serde_json::from_slice::<serde_json::Value>(body).is_err() {
                return;
            }
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                panic!("rewritten body is not JSON ({e}): {:?}", String::from_utf8_lossy(&out))
            });
            assert_eq!(v.get("model").and_then(|m| m.as_str()), Some(&*model), "model not rewritten: {:?}", String::from_utf8_lossy(&out));
            if include_usage {
                assert_eq!(
                    v.pointer("/stream_options/include_usage"),
                    Some(&serde_json::Value::Bool(true)),
                    "include_usage not set: {:?}",
                    String::from_utf8_lossy(&out)
                );
            }
            // The result parses again, with the new model.
            let again = RequestView::parse(&out).unwrap_or_else(|e| panic!("rewritten body rejected: {e}"));
            assert_eq!(again.model, model);
            assert_eq!(again.stream, view.stream);
        }
    }
});
