//! Parts: canonical -> wire. Tool-call arguments, signatures, images (with a
//! MIME type guessed from the URL) and `functionResponse` objects, and
//! [`encode_parts`], which writes one message's parts.

use serde_json::{Map, Value, json};

use crate::canonical::{ConvertError, ImageSource, Part};

/// How strictly canonical parts are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Requests to a provider: unusable tool arguments or an unnamed tool
    /// result are a [`ConvertError`].
    Request,
    /// Responses and streams to a client: never fail, write what we can.
    Lenient,
}

/// Tool-call arguments as the `args` object.
pub(crate) fn args_value(
    arguments: &str,
    mode: Strictness,
    path: &str,
) -> Result<Value, ConvertError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(v) if mode == Strictness::Lenient => Ok(v),
        Ok(_) => Err(ConvertError::new(
            path,
            "tool call arguments must be a JSON object for Gemini",
        )),
        Err(_) if mode == Strictness::Lenient => Ok(json!({})),
        Err(e) => Err(ConvertError::new(
            path,
            format!("tool call arguments are not valid JSON: {e}"),
        )),
    }
}

fn with_signature(mut part: Map<String, Value>, sig: Option<String>) -> Value {
    if let Some(s) = sig {
        part.insert("thoughtSignature".into(), s.into());
    }
    Value::Object(part)
}

fn image_part(source: &ImageSource) -> Value {
    let source = match source {
        ImageSource::Url { url } if url.starts_with("data:") => {
            ImageSource::from_data_url(url).unwrap_or_else(|| source.clone())
        }
        s => s.clone(),
    };
    match source {
        ImageSource::Base64 { media_type, data } => {
            json!({"inlineData": {"mimeType": media_type, "data": data}})
        }
        ImageSource::Url { url } => {
            let mut fd = Map::new();
            if let Some(m) = guess_mime(&url) {
                fd.insert("mimeType".into(), m.into());
            }
            fd.insert("fileUri".into(), url.into());
            json!({ "fileData": fd })
        }
    }
}

/// `fileData.mimeType` is required by Vertex; canonical URLs carry none.
fn guess_mime(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let path = lower.split(['?', '#']).next().unwrap_or(&lower);
    if path.contains("youtube.com/") || path.contains("youtu.be/") {
        return Some("video/mp4");
    }
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "txt" => "text/plain",
        _ => return None,
    })
}

/// Canonical result content as a `functionResponse.response` object.
fn content_to_response(content: &[Part], is_error: bool) -> Value {
    let texts: Vec<&str> = content
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if texts.is_empty() && !is_error {
        return json!({});
    }
    let text = texts.join("\n");
    let parsed = serde_json::from_str::<Value>(&text)
        .ok()
        .filter(Value::is_object);
    match (is_error, parsed) {
        (true, Some(obj)) => json!({ "error": obj }),
        (true, None) => json!({ "error": text }),
        (false, Some(obj)) => obj,
        (false, None) => json!({ "content": text }),
    }
}

/// Write one message's canonical parts as Gemini parts.
///
/// A signed `Thinking` directly followed by text or a tool call gives its
/// signature to that part (where Gemini puts it, and where Gemini 3
/// requires it for function calls); otherwise the signature stays on the
/// thought part. `tool_name` finds the function name of a result that has
/// none, from the call with the same id.
pub(crate) fn encode_parts(
    parts: &[Part],
    path: &str,
    mode: Strictness,
    tool_name: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Value>, ConvertError> {
    let mut out = Vec::with_capacity(parts.len());
    let mut pending_sig: Option<String> = None;
    for (j, p) in parts.iter().enumerate() {
        let ppath = format!("{path}.content[{j}]");
        match p {
            Part::Thinking { text, signature } => {
                let next_takes_sig = matches!(
                    parts.get(j + 1),
                    Some(Part::Text { .. } | Part::ToolCall { .. })
                );
                if let Some(old) = pending_sig.take() {
                    out.push(json!({"text": "", "thought": true, "thoughtSignature": old}));
                }
                let mut m = Map::new();
                m.insert("text".into(), text.clone().into());
                m.insert("thought".into(), true.into());
                if signature.is_some() && next_takes_sig {
                    pending_sig = signature.clone();
                    if !text.is_empty() {
                        out.push(Value::Object(m));
                    }
                } else {
                    out.push(with_signature(m, signature.clone()));
                }
            }
            Part::Text { text } => {
                let mut m = Map::new();
                m.insert("text".into(), text.clone().into());
                out.push(with_signature(m, pending_sig.take()));
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                let mut fc = Map::new();
                if !id.is_empty() {
                    fc.insert("id".into(), id.clone().into());
                }
                fc.insert("name".into(), name.clone().into());
                fc.insert("args".into(), args_value(arguments, mode, &ppath)?);
                let mut m = Map::new();
                m.insert("functionCall".into(), Value::Object(fc));
                out.push(with_signature(m, pending_sig.take()));
            }
            Part::ToolResult {
                tool_call_id,
                name,
                content,
                is_error,
            } => {
                let name = match name.clone().or_else(|| tool_name(tool_call_id)) {
                    Some(n) => n,
                    None if mode == Strictness::Lenient => String::new(),
                    None => {
                        return Err(ConvertError::new(
                            ppath,
                            format!(
                                "tool result for call {tool_call_id:?} has no function name and no earlier call with that id; Gemini needs the name"
                            ),
                        ));
                    }
                };
                let mut fr = Map::new();
                if !tool_call_id.is_empty() {
                    fr.insert("id".into(), tool_call_id.clone().into());
                }
                fr.insert("name".into(), name.into());
                fr.insert("response".into(), content_to_response(content, *is_error));
                out.push(json!({ "functionResponse": fr }));
                // Gemini results carry no images: they follow as parts.
                for c in content {
                    if let Part::Image { source } = c {
                        out.push(image_part(source));
                    }
                }
            }
            Part::Image { source } => out.push(image_part(source)),
            // Another provider's encrypted reasoning: nothing Gemini reads.
            Part::RedactedThinking { .. } => {}
        }
    }
    if let Some(sig) = pending_sig {
        out.push(json!({"text": "", "thought": true, "thoughtSignature": sig}));
    }
    Ok(out)
}
