//! Converse messages and content blocks: their wire types (decode side) and
//! the conversions between a content block and a canonical part, both ways,
//! shared by requests and responses. Unknown fields, including the union
//! members we do not map (`document`, `cachePoint`, `guardContent`, ...),
//! are ignored.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::canonical::{ConvertError, ImageSource, Part};

#[derive(Deserialize)]
pub(crate) struct WireMessage {
    pub role: String,
    #[serde(default)]
    pub content: Vec<WireBlock>,
}

/// A `ContentBlock` union: exactly one member is set on the wire.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireBlock {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub image: Option<WireImage>,
    #[serde(default)]
    pub tool_use: Option<WireToolUse>,
    #[serde(default)]
    pub tool_result: Option<WireToolResult>,
    #[serde(default)]
    pub reasoning_content: Option<WireReasoning>,
    /// Only in tool results: a JSON document.
    #[serde(default)]
    pub json: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct WireImage {
    pub format: String,
    pub source: WireImageSource,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireImageSource {
    #[serde(default)]
    pub bytes: Option<String>,
    #[serde(default)]
    pub s3_location: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireToolUse {
    #[serde(default)]
    pub tool_use_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub input: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireToolResult {
    #[serde(default)]
    pub tool_use_id: String,
    #[serde(default)]
    pub content: Vec<WireBlock>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireReasoning {
    #[serde(default)]
    pub reasoning_text: Option<WireReasoningText>,
    #[serde(default)]
    pub redacted_content: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireReasoningText {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub signature: Option<String>,
}

/// `image/png` -> `png`; the four formats Converse accepts.
fn image_format(media_type: &str) -> Option<&'static str> {
    match media_type.to_ascii_lowercase().as_str() {
        "image/png" => Some("png"),
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

pub(crate) fn image_json(src: &ImageSource, path: &str) -> Result<Value, ConvertError> {
    let url_refused = || {
        ConvertError::new(
            path,
            "image URLs cannot be expressed in Bedrock Converse, which only takes \
             inline image bytes; send the image as base64 data instead",
        )
    };
    let inline;
    let src = match src {
        ImageSource::Url { url } => {
            inline = ImageSource::from_data_url(url).ok_or_else(url_refused)?;
            &inline
        }
        s => s,
    };
    let ImageSource::Base64 { media_type, data } = src else {
        return Err(url_refused());
    };
    let format = image_format(media_type).ok_or_else(|| {
        ConvertError::new(
            path,
            format!(
                "image type {media_type} is not supported by Bedrock Converse \
                 (png, jpeg, gif and webp are)"
            ),
        )
    })?;
    Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
}

pub(crate) fn image_from_wire(img: WireImage, path: &str) -> Result<ImageSource, ConvertError> {
    match img.source.bytes {
        Some(data) => Ok(ImageSource::Base64 {
            media_type: format!("image/{}", img.format.to_ascii_lowercase()),
            data,
        }),
        None if img.source.s3_location.is_some() => Err(ConvertError::new(
            path,
            "S3 image locations cannot be expressed in the canonical model",
        )),
        None => Err(ConvertError::new(path, "image has no source bytes")),
    }
}

/// A canonical part as a Converse content block. `None`: dropped (empty
/// text, which Converse rejects as blank).
pub(super) fn block_json(part: &Part, path: &str) -> Result<Option<Value>, ConvertError> {
    Ok(Some(match part {
        Part::Text { text } if text.is_empty() => return Ok(None),
        Part::Text { text } => json!({"text": text}),
        Part::Image { source } => image_json(source, path)?,
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            let input: Value = if arguments.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                serde_json::from_str(arguments).map_err(|e| {
                    ConvertError::new(
                        path,
                        format!(
                            "tool call arguments are not valid JSON ({e}); Bedrock Converse \
                             needs them as a JSON document"
                        ),
                    )
                })?
            };
            json!({"toolUse": {"toolUseId": id, "name": name, "input": input}})
        }
        Part::ToolResult {
            tool_call_id,
            content,
            is_error,
            ..
        } => {
            let mut blocks = Vec::new();
            for (k, p) in content.iter().enumerate() {
                let sub = format!("{path}.content[{k}]");
                match p {
                    Part::Text { text } => blocks.push(json!({"text": text})),
                    Part::Image { source } => blocks.push(image_json(source, &sub)?),
                    _ => {
                        return Err(ConvertError::new(
                            sub,
                            "Bedrock tool results can only hold text and images",
                        ));
                    }
                }
            }
            let mut tr = Map::new();
            tr.insert("toolUseId".into(), tool_call_id.clone().into());
            tr.insert("content".into(), Value::Array(blocks));
            if *is_error {
                tr.insert("status".into(), "error".into());
            }
            json!({"toolResult": tr})
        }
        Part::Thinking { text, signature } => {
            let mut rt = Map::new();
            rt.insert("text".into(), text.clone().into());
            if let Some(s) = signature {
                rt.insert("signature".into(), s.clone().into());
            }
            json!({"reasoningContent": {"reasoningText": rt}})
        }
        Part::RedactedThinking { data } => {
            json!({"reasoningContent": {"redactedContent": data}})
        }
    }))
}

/// A Converse content block as a canonical part. `None`: a block with no
/// canonical equivalent (document, cachePoint, guardContent, video, ...), or
/// empty text.
pub(crate) fn block_from_wire(b: WireBlock, path: &str) -> Result<Option<Part>, ConvertError> {
    if let Some(text) = b.text {
        return Ok((!text.is_empty()).then_some(Part::Text { text }));
    }
    if let Some(img) = b.image {
        return Ok(Some(Part::Image {
            source: image_from_wire(img, path)?,
        }));
    }
    if let Some(tu) = b.tool_use {
        return Ok(Some(Part::ToolCall {
            id: tu.tool_use_id,
            name: tu.name,
            arguments: arguments_text(&tu.input),
        }));
    }
    if let Some(tr) = b.tool_result {
        let mut content = Vec::new();
        for (k, c) in tr.content.into_iter().enumerate() {
            let sub = format!("{path}.content[{k}]");
            if let Some(j) = c.json {
                content.push(Part::Text {
                    text: j.to_string(),
                });
            } else if let Some(text) = c.text {
                content.push(Part::Text { text });
            } else if let Some(img) = c.image {
                content.push(Part::Image {
                    source: image_from_wire(img, &sub)?,
                });
            }
            // documents and videos in results have no canonical form: dropped.
        }
        return Ok(Some(Part::ToolResult {
            tool_call_id: tr.tool_use_id,
            name: None,
            content,
            is_error: tr.status.as_deref() == Some("error"),
        }));
    }
    if let Some(r) = b.reasoning_content {
        if let Some(rt) = r.reasoning_text {
            return Ok(Some(Part::Thinking {
                text: rt.text,
                signature: rt.signature,
            }));
        }
        if let Some(data) = r.redacted_content {
            return Ok(Some(Part::RedactedThinking { data }));
        }
    }
    Ok(None)
}

/// Tool input document as canonical argument text.
pub(crate) fn arguments_text(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_string(),
        v => v.to_string(),
    }
}
