//! Converse request bodies to and from canonical.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::canonical::{
    ChatRequest, ConvertError, ImageSource, Message, Part, Reasoning, Role, Tool, ToolChoice,
};

// ---------------------------------------------------------------------------
// Wire types (decode side). Unknown fields, including the union members we
// do not map (`document`, `cachePoint`, `guardContent`, ...), are ignored.
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    #[serde(default)]
    messages: Vec<WireMessage>,
    #[serde(default)]
    system: Vec<WireSystem>,
    #[serde(default)]
    inference_config: Option<WireInference>,
    #[serde(default)]
    tool_config: Option<WireToolConfig>,
    #[serde(default)]
    additional_model_request_fields: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct WireMessage {
    pub role: String,
    #[serde(default)]
    pub content: Vec<WireBlock>,
}

#[derive(Deserialize, Default)]
struct WireSystem {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireInference {
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    stop_sequences: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireToolConfig {
    #[serde(default)]
    tools: Vec<WireTool>,
    #[serde(default)]
    tool_choice: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireTool {
    #[serde(default)]
    tool_spec: Option<WireToolSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireToolSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<WireSchema>,
}

#[derive(Deserialize)]
struct WireSchema {
    #[serde(default)]
    json: Option<Value>,
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

// ---------------------------------------------------------------------------
// Shared block conversions.
// ---------------------------------------------------------------------------

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
fn block_json(part: &Part, path: &str) -> Result<Option<Value>, ConvertError> {
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

// ---------------------------------------------------------------------------
// encode_request
// ---------------------------------------------------------------------------

/// Canonical request to a Converse / ConverseStream body. The model id is
/// not part of the body: it goes in the URL path
/// (`/model/{modelId}/converse` or `/converse-stream`, the id
/// percent-encoded as one path segment), and so does the choice of
/// streaming.
pub fn encode_request(req: &ChatRequest) -> Result<Vec<u8>, ConvertError> {
    // Converse has no system role in `messages`.
    let req = &*req.fold_system_messages();
    let mut body = Map::new();

    // Messages: Tool -> user; consecutive same-role messages merged, as
    // Converse requires alternating roles.
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, m) in req.messages.iter().enumerate() {
        let role = match m.role {
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
            // Folded into `system` above.
            Role::System => continue,
        };
        let mut blocks = Vec::with_capacity(m.content.len());
        for (j, p) in m.content.iter().enumerate() {
            if let Some(b) = block_json(p, &format!("messages[{i}].content[{j}]"))? {
                blocks.push(b);
            }
        }
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some((r, content)) if *r == role => content.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    // Claude's `thinking` (the only reasoning switch this encoder writes) is
    // left off where Claude refuses it, as the Anthropic encoder does: with a
    // forced tool, and inside a tool loop whose assistant turn does not open
    // with a reasoning block.
    let forced_tool = !req.tools.is_empty()
        && matches!(
            req.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Tool(_))
        );
    // Claude's rules: 1024 <= budget < maxTokens, 0 means off.
    let (max_tokens, budget) = crate::dialect::claude_thinking(
        req.max_tokens,
        req.reasoning
            .as_ref()
            .and_then(Reasoning::budget)
            .filter(|_| !forced_tool && !unsigned_tool_loop(&messages)),
        None,
    );
    let thinking_on = budget.is_some();
    // With thinking on, Claude takes no `top_k`, a `temperature` of 1 only
    // and a `top_p` of at least 0.95.
    let (temperature, top_p, top_k) = if thinking_on {
        (
            req.temperature.filter(|t| *t == 1.0),
            req.top_p.filter(|p| *p >= 0.95),
            None,
        )
    } else {
        (req.temperature, req.top_p, req.top_k)
    };

    body.insert(
        "messages".into(),
        Value::Array(
            messages
                .into_iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect(),
        ),
    );

    let system: Vec<Value> = req
        .system
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| json!({"text": s}))
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }

    let mut inf = Map::new();
    if let Some(n) = max_tokens {
        inf.insert("maxTokens".into(), n.into());
    }
    if let Some(t) = temperature {
        inf.insert("temperature".into(), t.into());
    }
    if let Some(p) = top_p {
        inf.insert("topP".into(), p.into());
    }
    if !req.stop.is_empty() {
        inf.insert("stopSequences".into(), req.stop.clone().into());
    }
    if !inf.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inf));
    }

    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut spec = Map::new();
                spec.insert("name".into(), t.name.clone().into());
                if let Some(d) = t.description.as_ref().filter(|d| !d.is_empty()) {
                    spec.insert("description".into(), d.clone().into());
                }
                spec.insert("inputSchema".into(), json!({"json": t.parameters}));
                json!({"toolSpec": spec})
            })
            .collect();
        let mut tc = Map::new();
        tc.insert("tools".into(), Value::Array(tools));
        match &req.tool_choice {
            Some(ToolChoice::Auto) => {
                tc.insert("toolChoice".into(), json!({"auto": {}}));
            }
            Some(ToolChoice::Required) => {
                tc.insert("toolChoice".into(), json!({"any": {}}));
            }
            Some(ToolChoice::Tool(name)) => {
                tc.insert("toolChoice".into(), json!({"tool": {"name": name}}));
            }
            // Converse has no "none": the tools stay (they are needed as
            // soon as the history holds toolUse/toolResult blocks) and the
            // choice is left to the model.
            Some(ToolChoice::None) | None => {}
        }
        body.insert("toolConfig".into(), Value::Object(tc));
    }

    // Model-specific fields, in the shape Anthropic Claude models on Bedrock
    // take them.
    let mut extra = Map::new();
    if let Some(k) = top_k {
        extra.insert("top_k".into(), k.into());
    }
    if let Some(budget) = budget {
        extra.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    if !extra.is_empty() {
        body.insert("additionalModelRequestFields".into(), Value::Object(extra));
    }

    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| ConvertError::new("", format!("cannot serialise request: {e}")))
}

/// Whether the conversation ends in a `toolResult` turn that answers an
/// assistant turn not opening with a signed (or redacted) `reasoningContent`
/// block. Claude refuses thinking for such a request ("a final `assistant`
/// message must start with a thinking block"), which is what clients of other
/// dialects send, having no reasoning signatures.
fn unsigned_tool_loop(messages: &[(&'static str, Vec<Value>)]) -> bool {
    let Some((role, last)) = messages.last() else {
        return false;
    };
    if *role != "user" || !last.iter().any(|b| b.get("toolResult").is_some()) {
        return false;
    }
    messages
        .iter()
        .rev()
        .find(|(r, _)| *r == "assistant")
        .is_some_and(|(_, content)| !content.first().is_some_and(is_signed_reasoning))
}

/// A `reasoningContent` block Claude accepts back: signed text or redacted.
fn is_signed_reasoning(block: &Value) -> bool {
    let Some(r) = block.get("reasoningContent") else {
        return false;
    };
    r.get("redactedContent").is_some()
        || r["reasoningText"]["signature"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------
// decode_request
// ---------------------------------------------------------------------------

/// A Converse body to canonical (`model` is empty: it lives in the URL).
/// Used for tests and round trips; see the module docs for what is dropped.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, ConvertError> {
    let w: WireRequest = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid Converse request body: {e}")))?;

    let mut messages: Vec<Message> = Vec::new();
    // Tool names by call id, to name the results (Gemini needs them).
    let mut tool_names: Vec<(String, String)> = Vec::new();
    for (i, m) in w.messages.into_iter().enumerate() {
        let base = match m.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(ConvertError::new(
                    format!("messages[{i}].role"),
                    format!("unknown role {other:?}"),
                ));
            }
        };
        for (j, b) in m.content.into_iter().enumerate() {
            let Some(mut part) = block_from_wire(b, &format!("messages[{i}].content[{j}]"))? else {
                continue;
            };
            let role = match &mut part {
                Part::ToolCall { id, name, .. } => {
                    tool_names.push((id.clone(), name.clone()));
                    base
                }
                Part::ToolResult {
                    tool_call_id, name, ..
                } if base == Role::User => {
                    *name = tool_names
                        .iter()
                        .rev()
                        .find(|(id, _)| id == tool_call_id)
                        .map(|(_, n)| n.clone());
                    Role::Tool
                }
                _ => base,
            };
            match messages.last_mut() {
                Some(last) if last.role == role => last.content.push(part),
                _ => messages.push(Message {
                    role,
                    content: vec![part],
                }),
            }
        }
    }

    let system = w.system.into_iter().filter_map(|s| s.text).collect();

    let inf = w.inference_config.unwrap_or_default();

    let (tools, tool_choice) = match w.tool_config {
        Some(tc) => {
            let tools = tc
                .tools
                .into_iter()
                .filter_map(|t| t.tool_spec)
                .map(|s| Tool {
                    name: s.name,
                    description: s.description,
                    parameters: s
                        .input_schema
                        .and_then(|i| i.json)
                        .unwrap_or_else(|| json!({"type": "object"})),
                })
                .collect();
            let choice = tc.tool_choice.and_then(|c| {
                if c.contains_key("auto") {
                    Some(ToolChoice::Auto)
                } else if c.contains_key("any") {
                    Some(ToolChoice::Required)
                } else {
                    c.get("tool")
                        .and_then(|t| t.get("name"))
                        .and_then(Value::as_str)
                        .map(|n| ToolChoice::Tool(n.to_string()))
                }
            });
            (tools, choice)
        }
        None => (Vec::new(), None),
    };

    let extra = w.additional_model_request_fields.unwrap_or(Value::Null);
    let top_k = extra
        .get("top_k")
        .and_then(Value::as_u64)
        .and_then(|k| u32::try_from(k).ok());
    let reasoning = extra
        .get("thinking")
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("enabled"))
        .map(|t| Reasoning {
            effort: None,
            budget_tokens: t
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .and_then(|b| u32::try_from(b).ok()),
        });

    Ok(ChatRequest {
        model: String::new(),
        system,
        messages,
        max_tokens: inf.max_tokens,
        temperature: inf.temperature,
        top_p: inf.top_p,
        top_k,
        stop: inf.stop_sequences,
        stream: false,
        tools,
        tool_choice,
        reasoning,
        ..ChatRequest::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(req: &ChatRequest) -> Value {
        serde_json::from_slice(&encode_request(req).unwrap()).unwrap()
    }

    fn user(text: &str) -> Message {
        Message {
            role: Role::User,
            content: vec![Part::Text { text: text.into() }],
        }
    }

    #[test]
    fn image_url_is_refused_data_url_is_inlined() {
        let mut req = ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: vec![Part::Image {
                    source: ImageSource::Url {
                        url: "https://example.com/cat.png".into(),
                    },
                }],
            }],
            ..ChatRequest::default()
        };
        let e = encode_request(&req).unwrap_err();
        assert_eq!(e.path, "messages[0].content[0]");
        assert!(e.message.contains("cannot be expressed"), "{e}");

        req.messages[0].content[0] = Part::Image {
            source: ImageSource::Url {
                url: "data:image/jpeg;base64,AAAA".into(),
            },
        };
        assert_eq!(
            body(&req)["messages"][0]["content"][0],
            json!({"image": {"format": "jpeg", "source": {"bytes": "AAAA"}}})
        );

        req.messages[0].content[0] = Part::Image {
            source: ImageSource::Base64 {
                media_type: "image/tiff".into(),
                data: "AAAA".into(),
            },
        };
        assert!(encode_request(&req).is_err());
    }

    #[test]
    fn tool_results_become_user_messages_and_roles_merge() {
        let req = ChatRequest {
            messages: vec![
                user("weather?"),
                Message {
                    role: Role::Assistant,
                    content: vec![Part::ToolCall {
                        id: "t1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    }],
                },
                Message {
                    role: Role::Tool,
                    content: vec![Part::ToolResult {
                        tool_call_id: "t1".into(),
                        name: Some("get_weather".into()),
                        content: vec![Part::Text {
                            text: "sunny".into(),
                        }],
                        is_error: false,
                    }],
                },
                user("and tomorrow?"),
            ],
            ..ChatRequest::default()
        };
        let b = body(&req);
        assert_eq!(
            b["messages"],
            json!([
                {"role": "user", "content": [{"text": "weather?"}]},
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}},
                    {"text": "and tomorrow?"}
                ]}
            ])
        );
        // Decoding splits the merged message again and names the result.
        assert_eq!(decode_request(&encode_request(&req).unwrap()).unwrap(), req);
    }

    #[test]
    fn invalid_tool_arguments_are_an_error_empty_ones_an_empty_object() {
        let mut req = ChatRequest {
            messages: vec![Message {
                role: Role::Assistant,
                content: vec![Part::ToolCall {
                    id: "t".into(),
                    name: "f".into(),
                    arguments: "{\"a\":".into(),
                }],
            }],
            ..ChatRequest::default()
        };
        assert!(encode_request(&req).unwrap_err().message.contains("JSON"));
        req.messages[0].content[0] = Part::ToolCall {
            id: "t".into(),
            name: "f".into(),
            arguments: String::new(),
        };
        assert_eq!(
            body(&req)["messages"][0]["content"][0]["toolUse"]["input"],
            json!({})
        );
    }

    #[test]
    fn sampling_tools_and_model_fields() {
        let req = ChatRequest {
            model: "anthropic.claude-sonnet-4-v1:0".into(),
            system: vec!["be brief".into()],
            messages: vec![user("hi")],
            max_tokens: Some(2000),
            temperature: Some(0.5),
            top_p: Some(0.9),
            top_k: Some(40),
            stop: vec!["END".into()],
            stream: true,
            tools: vec![Tool {
                name: "f".into(),
                description: Some("does f".into()),
                parameters: json!({"type": "object", "properties": {}}),
            }],
            tool_choice: Some(ToolChoice::Tool("f".into())),
            reasoning: Some(Reasoning {
                effort: Some("low".into()),
                budget_tokens: None,
            }),
            ..ChatRequest::default()
        };
        let b = body(&req);
        assert_eq!(b.get("modelId"), None);
        assert_eq!(b["system"], json!([{"text": "be brief"}]));
        assert_eq!(
            b["inferenceConfig"],
            json!({"maxTokens": 2000, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]})
        );
        assert_eq!(
            b["toolConfig"],
            json!({
                "tools": [{"toolSpec": {"name": "f", "description": "does f", "inputSchema": {"json": {"type": "object", "properties": {}}}}}],
                "toolChoice": {"tool": {"name": "f"}}
            })
        );
        // The forced tool wins over thinking, which Claude refuses with it;
        // the sampling fields then stay.
        assert_eq!(b["additionalModelRequestFields"], json!({"top_k": 40}));

        let back = decode_request(&encode_request(&req).unwrap()).unwrap();
        assert_eq!(back.top_k, Some(40));
        assert_eq!(back.reasoning, None);
        assert_eq!(back.tool_choice, Some(ToolChoice::Tool("f".into())));
        assert_eq!(back.model, "");

        // With the choice left to the model, thinking is on, and the
        // sampling Claude refuses with it is dropped.
        let auto = ChatRequest {
            tool_choice: Some(ToolChoice::Auto),
            ..req.clone()
        };
        let b = body(&auto);
        assert_eq!(
            b["inferenceConfig"],
            json!({"maxTokens": 2000, "stopSequences": ["END"]})
        );
        // Claude wants budget < maxTokens: 2048 against 2000 is lowered.
        assert_eq!(
            b["additionalModelRequestFields"],
            json!({"thinking": {"type": "enabled", "budget_tokens": 1999}})
        );
        assert_eq!(b["toolConfig"]["toolChoice"], json!({"auto": {}}));
        let back = decode_request(&encode_request(&auto).unwrap()).unwrap();
        assert_eq!(back.reasoning.and_then(|r| r.budget_tokens), Some(1999));

        // Sampling values Claude accepts with thinking are kept.
        let ok = ChatRequest {
            temperature: Some(1.0),
            top_p: Some(0.95),
            tool_choice: None,
            ..req
        };
        let b = body(&ok);
        assert_eq!(b["inferenceConfig"]["temperature"], json!(1.0));
        assert_eq!(b["inferenceConfig"]["topP"], json!(0.95));
        assert!(b["additionalModelRequestFields"].get("thinking").is_some());
        assert_eq!(b["additionalModelRequestFields"].get("top_k"), None);

        // Required forces a tool too.
        let required = ChatRequest {
            tool_choice: Some(ToolChoice::Required),
            ..ok
        };
        let b = body(&required);
        assert_eq!(b["additionalModelRequestFields"].get("thinking"), None);
        // Without tools nothing is forced (and no toolConfig is sent).
        let no_tools = ChatRequest {
            tools: vec![],
            ..required
        };
        assert!(
            body(&no_tools)["additionalModelRequestFields"]
                .get("thinking")
                .is_some()
        );
    }

    /// Thinking in a tool loop: Claude wants the assistant turn that the
    /// trailing tool results answer to open with its signed reasoning.
    #[test]
    fn thinking_in_a_tool_loop_needs_a_leading_signed_reasoning_block() {
        let call = Part::ToolCall {
            id: "t1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        };
        let result = Message {
            role: Role::Tool,
            content: vec![Part::ToolResult {
                tool_call_id: "t1".into(),
                name: Some("f".into()),
                content: vec![Part::Text { text: "ok".into() }],
                is_error: false,
            }],
        };
        let with_turn = |turn: Vec<Part>, tail: Vec<Message>| {
            let mut messages = vec![
                user("q"),
                Message {
                    role: Role::Assistant,
                    content: turn,
                },
            ];
            messages.extend(tail);
            let req = ChatRequest {
                messages,
                tools: vec![Tool {
                    name: "f".into(),
                    description: None,
                    parameters: json!({"type": "object"}),
                }],
                reasoning: Some(Reasoning {
                    effort: None,
                    budget_tokens: Some(2048),
                }),
                ..ChatRequest::default()
            };
            body(&req)["additionalModelRequestFields"]
                .get("thinking")
                .is_some()
        };
        let signed = Part::Thinking {
            text: "hmm".into(),
            signature: Some("sig".into()),
        };
        let unsigned = Part::Thinking {
            text: "hmm".into(),
            signature: None,
        };
        let redacted = Part::RedactedThinking {
            data: "AAAA".into(),
        };
        let text = Part::Text {
            text: "let me see".into(),
        };
        let tail = || vec![result.clone()];
        // No reasoning block, or not first, or unsigned: off.
        assert!(!with_turn(vec![call.clone()], tail()));
        assert!(!with_turn(vec![text.clone(), call.clone()], tail()));
        assert!(!with_turn(
            vec![text.clone(), signed.clone(), call.clone()],
            tail()
        ));
        assert!(!with_turn(vec![unsigned, call.clone()], tail()));
        // Signed or redacted reasoning first: on.
        assert!(with_turn(vec![signed.clone(), call.clone()], tail()));
        assert!(with_turn(vec![redacted, call.clone()], tail()));
        // Results followed by a new question still continue the loop.
        assert!(!with_turn(
            vec![call.clone()],
            vec![result.clone(), user("and?")]
        ));
        // Not in a tool loop (the conversation ends with a question): on.
        assert!(with_turn(vec![text], vec![user("and?")]));
        assert!(with_turn(
            vec![call],
            vec![
                result.clone(),
                Message {
                    role: Role::Assistant,
                    content: vec![Part::Text {
                        text: "done".into()
                    }],
                },
                user("thanks")
            ]
        ));
    }

    #[test]
    fn tool_choice_mapping() {
        let mut req = ChatRequest {
            messages: vec![user("hi")],
            tools: vec![Tool {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object"}),
            }],
            ..ChatRequest::default()
        };
        for (choice, wire) in [
            (Some(ToolChoice::Auto), Some(json!({"auto": {}}))),
            (Some(ToolChoice::Required), Some(json!({"any": {}}))),
            (Some(ToolChoice::None), None),
            (None, None),
        ] {
            req.tool_choice = choice;
            let b = body(&req);
            assert_eq!(b["toolConfig"]["tools"][0]["toolSpec"]["name"], "f");
            assert_eq!(b["toolConfig"].get("toolChoice").cloned(), wire);
        }
        // No tools: no toolConfig at all, whatever the choice.
        req.tools.clear();
        req.tool_choice = Some(ToolChoice::Required);
        assert_eq!(body(&req).get("toolConfig"), None);
    }

    #[test]
    fn thinking_and_error_results_round_trip() {
        let req = ChatRequest {
            messages: vec![
                user("q"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Part::Thinking {
                            text: "hmm".into(),
                            signature: Some("sig".into()),
                        },
                        Part::RedactedThinking {
                            data: "AAAA".into(),
                        },
                        Part::ToolCall {
                            id: "t".into(),
                            name: "f".into(),
                            arguments: "{}".into(),
                        },
                    ],
                },
                Message {
                    role: Role::Tool,
                    content: vec![Part::ToolResult {
                        tool_call_id: "t".into(),
                        name: Some("f".into()),
                        content: vec![Part::Text {
                            text: "boom".into(),
                        }],
                        is_error: true,
                    }],
                },
            ],
            ..ChatRequest::default()
        };
        let b = body(&req);
        assert_eq!(
            b["messages"][1]["content"][0],
            json!({"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}})
        );
        assert_eq!(
            b["messages"][1]["content"][1],
            json!({"reasoningContent": {"redactedContent": "AAAA"}})
        );
        assert_eq!(
            b["messages"][2]["content"][0]["toolResult"]["status"],
            "error"
        );
        assert_eq!(decode_request(&encode_request(&req).unwrap()).unwrap(), req);
    }

    #[test]
    fn json_tool_results_decode_as_text() {
        let b = br#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"json":{"a":1}}],"status":"success"}}]}]}"#;
        let req = decode_request(b).unwrap();
        assert_eq!(
            req.messages[0],
            Message {
                role: Role::Tool,
                content: vec![Part::ToolResult {
                    tool_call_id: "t".into(),
                    name: None,
                    content: vec![Part::Text {
                        text: r#"{"a":1}"#.into()
                    }],
                    is_error: false,
                }],
            }
        );
    }
}
