//! The scan against serde_json: whenever the scan answers, serde_json
//! accepts the same document and finds the same values; and on the
//! documents clients send, the scan does answer.

use serde_json::value::RawValue;

use super::*;
use crate::request::TopLevel;

/// serde_json's answer, as the scan gives it.
fn by_serde(body: &[u8]) -> Option<Found> {
    let text = std::str::from_utf8(body).ok()?;
    let top: TopLevel<'_> = serde_json::from_str(text).ok()?;
    let span = |raw: Option<&RawValue>| {
        raw.map(|r| {
            let start = r.get().as_ptr() as usize - body.as_ptr() as usize;
            start..start + r.get().len()
        })
    };
    Some(Found {
        model: span(top.model),
        stream: span(top.stream),
        stream_options: span(top.stream_options),
    })
}

/// Whenever the scan answers, serde_json agrees (on UTF-8, which the
/// caller checks first).
fn agree(body: &[u8]) {
    if std::str::from_utf8(body).is_err() {
        return;
    }
    if let Some(scan) = top_level(body) {
        assert_eq!(
            Some(scan),
            by_serde(body),
            "the scan accepted what serde_json did not, or found other values: {:?}",
            String::from_utf8_lossy(body)
        );
    }
}

const VALID: &[&str] = &[
    r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#,
    r#" {"messages":[{"role":"user","content":"say \"hi\" \\ \/ \b\f\n\r\t \u00e9\ud83d\ude00"}],"model":"m","stream":true} "#,
    r#"{"model":"m","stream":false,"stream_options":{"include_usage":true},"n":1,"temperature":0.5,"x":-1.5e-3,"y":0,"z":-0,"w":2E+10,"v":1e5}"#,
    "{\n\t\"model\" :\r\n \"m\" , \"tools\" : [ ] , \"o\" : { } , \"a\":[[1,[2,{}]],{\"k\":[null,true,false]}]}",
    r#"{"model":"m","stream":null,"stream_options":null,"metadata":{"model":"not this one","stream":1}}"#,
    r#"{}"#,
    r#"{"model":"é ü 中文 😀","messages":[{"content":"ünïcödé 😀"}]}"#,
    r#"{"model":"a\u002db"}"#,
];

#[test]
fn answers_for_the_documents_clients_send() {
    for doc in VALID {
        let scan = top_level(doc.as_bytes());
        assert!(scan.is_some(), "no answer for {doc}");
        assert_eq!(scan, by_serde(doc.as_bytes()), "{doc}");
    }
}

#[test]
fn leaves_to_serde_what_it_cannot_be_sure_of() {
    for doc in [
        // An escaped key: serde reads it as `model`.
        r#"{"mod\u0065l":"m"}"#,
        // A wanted field twice: serde refuses it.
        r#"{"model":"a","model":"b"}"#,
        // A raw control character in a string.
        "{\"model\":\"a\u{1}b\"}",
        // Form feed is not JSON whitespace.
        "{\"model\":\"m\"}\u{c}",
        // Trailing comma, trailing bytes, bad number, bad escape, bad literal.
        r#"{"model":"m",}"#,
        r#"{"model":"m"}x"#,
        r#"{"model":"m","n":01}"#,
        r#"{"model":"m","n":1.}"#,
        r#"{"model":"m","n":-}"#,
        r#"{"model":"m","n":1e}"#,
        r#"{"model":"m","s":"\x"}"#,
        r#"{"model":"m","s":"\u12g4"}"#,
        r#"{"model":"m","b":tru}"#,
        r#"{"model":"m","a":[1,]}"#,
        r#"{"model":"m","a":[1 2]}"#,
        r#"{"model":"m","o":{"k"}}"#,
        r#"{"model":"m","o":{"k":1,}}"#,
        r#"{"model":"m","a":[}"#,
        r#"{"model":"m""#,
        r#"["model"]"#,
        "",
    ] {
        assert_eq!(top_level(doc.as_bytes()), None, "{doc}");
        agree(doc.as_bytes());
    }
    // Deep nesting goes to serde, whatever its verdict.
    let deep = format!(
        r#"{{"model":"m","a":{}{}}}"#,
        "[".repeat(120),
        "]".repeat(120)
    );
    assert_eq!(top_level(deep.as_bytes()), None);
    let fine = format!(
        r#"{{"model":"m","a":{}{}}}"#,
        "[".repeat(90),
        "]".repeat(90)
    );
    assert!(top_level(fine.as_bytes()).is_some());
    agree(fine.as_bytes());
}

/// Every document one byte away from a valid one (replaced, inserted or
/// removed): the scan never accepts what serde_json refuses, and finds the
/// same values when both accept.
#[test]
fn agrees_with_serde_one_byte_away_from_valid_documents() {
    let alphabet: &[u8] = b"\"\\{}[],:0-.eEu+n t1 \x01\x0c\x1fa";
    let mut tried = 0usize;
    let mut answered = 0usize;
    for doc in VALID {
        let doc = doc.as_bytes();
        for i in 0..=doc.len() {
            let mut variants = Vec::new();
            for &c in alphabet {
                let mut ins = doc.to_vec();
                ins.insert(i, c);
                variants.push(ins);
                if i < doc.len() {
                    let mut rep = doc.to_vec();
                    rep[i] = c;
                    variants.push(rep);
                }
            }
            if i < doc.len() {
                let mut del = doc.to_vec();
                del.remove(i);
                variants.push(del);
            }
            for v in variants {
                tried += 1;
                answered += usize::from(top_level(&v).is_some());
                agree(&v);
            }
        }
    }
    // Not a test that passes by never answering.
    assert!(answered > tried / 10, "{answered} of {tried}");
}
