//! Parts: wire -> canonical. The part decoder (made-up ids for id-less
//! function calls, pairing of id-less results with their call), signature
//! attachment and `functionResponse` unwrapping.

use serde_json::Value;

use super::WPart;
use crate::canonical::{ImageSource, Part};

/// State kept while decoding the parts of one request or response: the
/// count of function calls (for generated ids), the response's
/// `responseId` (ditto) and the calls that still await a result (to pair
/// id-less `functionResponse`s with their call).
#[derive(Default)]
pub(crate) struct PartDecoder {
    calls: u32,
    response_id: Option<String>,
    pending: Vec<(String, String)>,
}

/// 64-bit FNV-1a over `parts`, each followed by a 0xff separator (a byte
/// UTF-8 text never holds), then MurmurHash3's finaliser so that inputs
/// differing in their last bytes (`resp-1`, `resp-2`) differ in every
/// digit. Stable across platforms and Rust versions, unlike `std`'s hashers.
fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The id made up for the id-less function call number `index` (counted from
/// 0 in its response, stream or request): `call_<hash>_<index>`, the hash
/// taken from the response's `responseId` or, without one, from the call's
/// name, argument text and index. Ids then differ from one answer to the
/// next (Anthropic refuses a history with repeated `tool_use` ids, and
/// clients pair results with calls by id) while the same input always
/// gives the same ids.
pub(crate) fn generated_call_id(
    response_id: Option<&str>,
    name: &str,
    arguments: &str,
    index: u32,
) -> String {
    let hash = match response_id.filter(|r| !r.is_empty()) {
        Some(r) => hash64(&[r.as_bytes()]),
        None => hash64(&[
            name.as_bytes(),
            arguments.as_bytes(),
            index.to_string().as_bytes(),
        ]),
    };
    format!("call_{:012x}_{index}", hash >> 16)
}

/// A signature found on a part that is not itself signed thought text:
/// it closes the unsigned thinking right before it, or stands alone as an
/// empty signed `Thinking` (which the encoder puts back on the next part).
pub(crate) fn attach_signature(out: &mut Vec<Part>, sig: Option<String>) {
    let Some(sig) = sig else { return };
    if let Some(Part::Thinking {
        signature: slot @ None,
        ..
    }) = out.last_mut()
    {
        *slot = Some(sig);
    } else {
        out.push(Part::Thinking {
            text: String::new(),
            signature: Some(sig),
        });
    }
}

/// The arguments object of a function call as JSON text.
pub(crate) fn args_text(args: Option<Value>) -> String {
    match args {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v) => serde_json::to_string(&v).unwrap_or_else(|_| "{}".to_string()),
    }
}

impl PartDecoder {
    /// A decoder for the parts of a response with this `responseId`.
    pub(crate) fn for_response(response_id: Option<&str>) -> Self {
        PartDecoder {
            response_id: response_id.map(str::to_string),
            ..PartDecoder::default()
        }
    }

    /// The id of the next function call: its own, or a generated one (see
    /// [`generated_call_id`]).
    fn call_id(&mut self, id: Option<String>, name: &str, arguments: &str) -> String {
        let id = id.filter(|i| !i.is_empty()).unwrap_or_else(|| {
            generated_call_id(self.response_id.as_deref(), name, arguments, self.calls)
        });
        self.calls += 1;
        self.pending.push((id.clone(), name.to_string()));
        id
    }

    /// The call id a `functionResponse` answers: its own, else the oldest
    /// unanswered call of the same name, else a fresh generated one.
    fn result_id(&mut self, id: Option<String>, name: &str) -> String {
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            if let Some(k) = self.pending.iter().position(|(i, _)| *i == id) {
                self.pending.remove(k);
            }
            return id;
        }
        if let Some(k) = self.pending.iter().position(|(_, n)| n == name) {
            return self.pending.remove(k).0;
        }
        let id = generated_call_id(self.response_id.as_deref(), name, "", self.calls);
        self.calls += 1;
        id
    }

    /// Append the canonical form of one wire part to `out`.
    pub(crate) fn part(&mut self, p: WPart, out: &mut Vec<Part>) {
        let sig = p.thought_signature.filter(|s| !s.is_empty());
        if let Some(fc) = p.function_call {
            attach_signature(out, sig);
            let arguments = args_text(fc.args);
            let id = self.call_id(fc.id, &fc.name, &arguments);
            out.push(Part::ToolCall {
                id,
                name: fc.name,
                arguments,
            });
        } else if let Some(fr) = p.function_response {
            // A signature on a function response has no meaning: dropped.
            let tool_call_id = self.result_id(fr.id, &fr.name);
            let (content, is_error) = response_to_content(fr.response);
            out.push(Part::ToolResult {
                tool_call_id,
                name: Some(fr.name),
                content,
                is_error,
            });
        } else if let Some(b) = p.inline_data {
            attach_signature(out, sig);
            out.push(Part::Image {
                source: ImageSource::Base64 {
                    media_type: b.mime_type,
                    data: b.data,
                },
            });
        } else if let Some(f) = p.file_data {
            attach_signature(out, sig);
            out.push(Part::Image {
                source: ImageSource::Url { url: f.file_uri },
            });
        } else if let Some(text) = p.text {
            if p.thought == Some(true) {
                if text.is_empty() && sig.is_some() {
                    attach_signature(out, sig);
                } else {
                    out.push(Part::Thinking {
                        text,
                        signature: sig,
                    });
                }
            } else {
                attach_signature(out, sig);
                if !text.is_empty() {
                    out.push(Part::Text { text });
                }
            }
        } else {
            // executableCode, codeExecutionResult, videoMetadata, ...: dropped.
            attach_signature(out, sig);
        }
    }
}

/// A `functionResponse.response` object as canonical result content:
/// `{"content": "text"}` / `{"output": "text"}` unwrap to the text,
/// `{"error": ...}` marks an error, anything else is kept as JSON text.
fn response_to_content(resp: Option<Value>) -> (Vec<Part>, bool) {
    let text = |t: String| vec![Part::Text { text: t }];
    match resp {
        None | Some(Value::Null) => (vec![], false),
        Some(Value::Object(m)) if m.is_empty() => (vec![], false),
        Some(Value::Object(m)) if m.len() == 1 => {
            let Some((k, v)) = m.iter().next() else {
                return (vec![], false);
            };
            match (k.as_str(), v) {
                ("content" | "output", Value::String(s)) => (text(s.clone()), false),
                ("error", Value::String(s)) => (text(s.clone()), true),
                ("error", v) => (text(v.to_string()), true),
                _ => (text(Value::Object(m).to_string()), false),
            }
        }
        Some(v) => (text(v.to_string()), false),
    }
}
