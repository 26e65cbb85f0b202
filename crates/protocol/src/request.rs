//! A borrowed view of an OpenAI-style request body, and rewrites that splice
//! bytes instead of re-serialising the whole document.
//!
//! The gateway must read `model` and `stream` from every request and change
//! at most two things: the model name (model mapping) and
//! `stream_options.include_usage` (so streamed usage can be counted).
//! Everything else is forwarded byte for byte.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Why a body cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Not JSON, or not a JSON object.
    InvalidJson(String),
    /// No `model`, or `model` is not a non-empty string.
    MissingModel,
    /// A known field has the wrong type.
    InvalidField {
        field: &'static str,
        expected: &'static str,
    },
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::InvalidJson(e) => write!(
                f,
                "The request body is not a valid JSON object ({e}). Send a JSON object with at least a `model` field."
            ),
            RequestError::MissingModel => write!(
                f,
                "The request body has no `model`. Add a `model` string naming the model to use, e.g. \"model\": \"gpt-4o-mini\"."
            ),
            RequestError::InvalidField { field, expected } => {
                write!(f, "`{field}` must be {expected}.")
            }
        }
    }
}

impl std::error::Error for RequestError {}

/// What serde_json reads of the top level (the scan's tests compare with
/// it): each value present, `null` included, as the scan finds it.
#[derive(Deserialize)]
pub(crate) struct TopLevel<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    pub model: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub stream: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub stream_options: Option<&'a RawValue>,
}

/// A value that is there, `null` too (serde's `Option` reads `null` as
/// absent, and a rewrite must know where a `null` lies to replace it).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// What the gateway needs to know about a request body.
#[derive(Debug)]
pub struct RequestView<'a> {
    pub model: Cow<'a, str>,
    pub stream: bool,
    /// The client asked for the usage chunk itself.
    pub include_usage: bool,
    model_span: Range<usize>,
    stream_options: Option<(Range<usize>, &'a str)>,
}

/// A top-level value: where it lies in the body, and its text.
type Raw<'a> = (Range<usize>, &'a str);

/// The top-level values the gateway reads. A `null` model or stream is
/// absent; a `null` stream_options is kept (a rewrite replaces it).
struct Top<'a> {
    model: Option<Raw<'a>>,
    stream: Option<Raw<'a>>,
    stream_options: Option<Raw<'a>>,
}

/// `text`'s top-level values: by the one-pass scan when it is sure of the
/// document, else by serde_json (which decides, and words the error).
fn top_level(text: &str) -> Result<Top<'_>, RequestError> {
    let (model, stream, stream_options) =
        if let Some(found) = crate::json_scan::top_level(text.as_bytes()) {
            let raw = |r: Option<Range<usize>>| r.map(|r| (r.clone(), &text[r]));
            (
                raw(found.model),
                raw(found.stream),
                raw(found.stream_options),
            )
        } else {
            let top: TopLevel<'_> =
                serde_json::from_str(text).map_err(|e| RequestError::InvalidJson(e.to_string()))?;
            let raw = |v: Option<_>| v.map(|v| span_of(text, v));
            (raw(top.model), raw(top.stream), raw(top.stream_options))
        };
    fn not_null(r: Option<Raw<'_>>) -> Option<Raw<'_>> {
        r.filter(|(_, t)| *t != "null")
    }
    Ok(Top {
        model: not_null(model),
        stream: not_null(stream),
        stream_options,
    })
}

/// A `RawValue` borrowed from `text`: its place is a pointer offset.
fn span_of<'t>(text: &'t str, v: &'t RawValue) -> Raw<'t> {
    let start = (v.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    (start..start + v.get().len(), v.get())
}

impl<'a> RequestView<'a> {
    pub fn parse(body: &'a [u8]) -> Result<Self, RequestError> {
        let first = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .copied()
            .unwrap_or(b' ');
        if first != b'{' {
            return Err(RequestError::InvalidJson(if body.is_empty() {
                "the body is empty".into()
            } else {
                "expected `{` at the start".into()
            }));
        }
        // JSON is UTF-8 (RFC 8259); serde_json does not check the strings it
        // skips, so check the whole body once (a SIMD scan: a prompt of
        // megabytes is read at memory speed) rather than forward invalid
        // bytes upstream. Where it fails, std's check says where.
        let text = match simdutf8::basic::from_utf8(body) {
            Ok(text) => text,
            Err(_) => {
                let at = std::str::from_utf8(body)
                    .err()
                    .map_or(0, |e| e.valid_up_to());
                return Err(RequestError::InvalidJson(format!(
                    "the body is not UTF-8 (invalid byte at offset {at})"
                )));
            }
        };
        let top = top_level(text)?;
        let (model_span, model_raw) = top.model.ok_or(RequestError::MissingModel)?;
        // Borrowed when it has no escapes (serde's `Cow` would always copy).
        let model: Cow<'a, str> = match model_raw {
            raw if raw.len() >= 2
                && raw.starts_with('"')
                && raw.ends_with('"')
                && !raw.contains('\\') =>
            {
                Cow::Borrowed(&raw[1..raw.len() - 1])
            }
            raw => Cow::Owned(
                serde_json::from_str::<String>(raw).map_err(|_| RequestError::MissingModel)?,
            ),
        };
        if model.trim().is_empty() {
            return Err(RequestError::MissingModel);
        }
        let stream = match top.stream.map(|(_, raw)| raw) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(RequestError::InvalidField {
                    field: "stream",
                    expected: "a boolean",
                });
            }
        };
        #[derive(Deserialize)]
        struct So {
            #[serde(default)]
            include_usage: Option<bool>,
        }
        // Kept whether `null` or not: a rewrite replaces it where it lies.
        let stream_options = top.stream_options;
        let include_usage = match stream_options {
            Some((_, so)) if so != "null" => serde_json::from_str::<So>(so)
                .map_err(|_| RequestError::InvalidField {
                    field: "stream_options",
                    expected: "an object such as {\"include_usage\": true}",
                })?
                .include_usage
                .unwrap_or(false),
            _ => false,
        };
        Ok(RequestView {
            model_span,
            model,
            stream,
            include_usage,
            stream_options,
        })
    }
}

/// Bytes to put in place of a range of the body.
type Edit = (Range<usize>, Cow<'static, [u8]>);

/// The changes to make to a body.
#[derive(Debug, Default)]
pub struct Rewrite<'m> {
    /// Replace `model` with this name.
    pub model: Option<&'m str>,
    /// Make sure `stream_options.include_usage` is true.
    pub include_usage: bool,
}

impl Rewrite<'_> {
    pub fn is_noop(&self) -> bool {
        self.model.is_none() && !self.include_usage
    }

    /// Apply to `body`, which `view` was parsed from. Returns `None` when
    /// nothing needs to change, so the caller can forward the original bytes.
    pub fn apply(&self, body: &[u8], view: &RequestView<'_>) -> Option<Vec<u8>> {
        // At most two edits, kept on the stack: a request that needs none
        // (the usual case) allocates nothing here.
        let model = self.model.filter(|m| *m != view.model).map(|m| {
            (
                view.model_span.clone(),
                Cow::Owned(serde_json::to_vec(m).unwrap_or_default()),
            )
        });
        let usage =
            (self.include_usage && !view.include_usage).then(|| match &view.stream_options {
                None => {
                    // Insert right after the opening brace; the object has
                    // at least `model`, so a trailing comma is correct.
                    let brace = body.iter().position(|b| *b == b'{').unwrap_or(0);
                    (
                        brace + 1..brace + 1,
                        Cow::Borrowed(&b"\"stream_options\":{\"include_usage\":true},"[..]),
                    )
                }
                Some((span, raw)) => {
                    // `null` (no options) reads as an empty map and is replaced.
                    let mut map: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(raw).unwrap_or_default();
                    map.insert("include_usage".into(), serde_json::Value::Bool(true));
                    (
                        span.clone(),
                        Cow::Owned(serde_json::to_vec(&map).unwrap_or_default()),
                    )
                }
            });
        let mut edits: [Option<Edit>; 2] = [model, usage];
        if edits.iter().all(Option::is_none) {
            return None;
        }
        edits.sort_by_key(|e| e.as_ref().map_or(usize::MAX, |(r, _)| r.start));
        let extra: usize = edits.iter().flatten().map(|(_, b)| b.len()).sum();
        let mut out = Vec::with_capacity(body.len() + extra);
        let mut at = 0;
        for (range, bytes) in edits.iter().flatten() {
            out.extend_from_slice(&body[at..range.start]);
            out.extend_from_slice(bytes);
            at = range.end;
        }
        out.extend_from_slice(&body[at..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(b: &[u8]) -> serde_json::Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn reads_model_and_stream() {
        let b = br#" {"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o","stream":true}"#;
        let v = RequestView::parse(b).unwrap();
        assert_eq!(v.model, "gpt-4o");
        assert!(matches!(v.model, Cow::Borrowed(_)), "not copied");
        assert!(v.stream);
        assert!(!v.include_usage);
    }

    /// A `null` stream or stream_options reads as absent; a rewrite that
    /// asks for usage replaces the `null` options rather than adding a
    /// second key (a provider keeping the last would see `null`).
    #[test]
    fn null_stream_fields_are_absent_and_null_options_are_replaced() {
        for b in [
            &br#"{"model":"m","stream":null,"stream_options":null}"#[..],
            // The same through serde_json (an escaped key sends it there).
            &br#"{"m\u006fdel":"m","stream":null,"stream_options":null}"#[..],
        ] {
            let v = RequestView::parse(b).unwrap();
            assert_eq!(v.model, "m");
            assert!(!v.stream && !v.include_usage);
            let rw = Rewrite {
                model: None,
                include_usage: true,
            };
            let out = rw.apply(b, &v).unwrap();
            let text = String::from_utf8(out.clone()).unwrap();
            assert_eq!(text.matches("stream_options").count(), 1, "{text}");
            assert_eq!(json(&out)["stream_options"]["include_usage"], true);
        }
    }

    #[test]
    fn escaped_model_is_decoded() {
        let b = br#"{"model":"a\u002db"}"#;
        assert_eq!(RequestView::parse(b).unwrap().model, "a-b");
        let b = br#"{"model":"a\"b"}"#;
        assert_eq!(RequestView::parse(b).unwrap().model, "a\"b");
        assert!(matches!(
            RequestView::parse(br#"{"model":7}"#),
            Err(RequestError::MissingModel)
        ));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            RequestView::parse(b""),
            Err(RequestError::InvalidJson(_))
        ));
        assert!(matches!(
            RequestView::parse(b"[1]"),
            Err(RequestError::InvalidJson(_))
        ));
        assert!(matches!(
            RequestView::parse(b"{\"model\":"),
            Err(RequestError::InvalidJson(_))
        ));
        assert_eq!(
            RequestView::parse(b"{}").unwrap_err(),
            RequestError::MissingModel
        );
        assert_eq!(
            RequestView::parse(br#"{"model":""}"#).unwrap_err(),
            RequestError::MissingModel
        );
        assert_eq!(
            RequestView::parse(br#"{"model":3}"#).unwrap_err(),
            RequestError::MissingModel
        );
        assert!(matches!(
            RequestView::parse(br#"{"model":"m","stream":"yes"}"#),
            Err(RequestError::InvalidField {
                field: "stream",
                ..
            })
        ));
    }

    #[test]
    fn invalid_utf8_in_a_skipped_string_is_rejected() {
        let b = b"{\"model\":\"m\",\"messages\":[{\"c\x88ontent\":\"hi\"}]}";
        match RequestView::parse(b) {
            Err(RequestError::InvalidJson(m)) => {
                assert!(m.contains("not UTF-8 (invalid byte at offset 28)"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn noop_rewrite_keeps_bytes() {
        let b = br#"{"model":"m","x":1}"#;
        let v = RequestView::parse(b).unwrap();
        let r = Rewrite {
            model: Some("m"),
            include_usage: false,
        };
        assert!(r.apply(b, &v).is_none());
    }

    #[test]
    fn model_and_usage_are_spliced() {
        let b = br#"{ "temperature": 0.5, "model" : "gpt-4o", "stream": true, "messages": [] }"#;
        let v = RequestView::parse(b).unwrap();
        let out = Rewrite {
            model: Some("deepseek-\"chat\""),
            include_usage: true,
        }
        .apply(b, &v)
        .unwrap();
        let j = json(&out);
        assert_eq!(j["model"], "deepseek-\"chat\"");
        assert_eq!(j["stream_options"]["include_usage"], true);
        assert_eq!(j["temperature"], 0.5);
        // Untouched parts keep their original spacing.
        assert!(
            std::str::from_utf8(&out)
                .unwrap()
                .contains(r#""stream": true, "messages": [] }"#)
        );
    }

    #[test]
    fn existing_stream_options_are_extended() {
        let b = br#"{"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1}}"#;
        let v = RequestView::parse(b).unwrap();
        let out = Rewrite {
            model: None,
            include_usage: true,
        }
        .apply(b, &v)
        .unwrap();
        let j = json(&out);
        assert_eq!(j["stream_options"]["include_usage"], true);
        assert_eq!(j["stream_options"]["x"], 1);
        let b = br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#;
        let v = RequestView::parse(b).unwrap();
        assert!(v.include_usage);
        assert!(
            Rewrite {
                model: None,
                include_usage: true
            }
            .apply(b, &v)
            .is_none()
        );
    }
}
