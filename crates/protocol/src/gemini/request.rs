//! `generateContent` request bodies to and from canonical.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::wire::{
    PartDecoder, Strictness, WContent, WPart, encode_parts, from_gemini_schema, null_as_empty,
    to_gemini_schema,
};
use crate::canonical::{
    ChatRequest, ConvertError, Message, Part, Reasoning, ResponseFormat, Role, Tool, ToolChoice,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WRequest {
    /// Required: a body without it is not a `generateContent` request.
    contents: Vec<WContent>,
    #[serde(default, alias = "system_instruction")]
    system_instruction: Option<WContent>,
    #[serde(default, deserialize_with = "null_as_empty")]
    tools: Vec<WTool>,
    #[serde(default, alias = "tool_config")]
    tool_config: Option<WToolConfig>,
    #[serde(default, alias = "generation_config")]
    generation_config: Option<WGenerationConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WTool {
    #[serde(
        default,
        alias = "function_declarations",
        deserialize_with = "null_as_empty"
    )]
    function_declarations: Vec<WFunctionDeclaration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WFunctionDeclaration {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
    #[serde(default, alias = "parameters_json_schema")]
    parameters_json_schema: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WToolConfig {
    #[serde(default, alias = "function_calling_config")]
    function_calling_config: Option<WFunctionCallingConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WFunctionCallingConfig {
    #[serde(default)]
    mode: Option<String>,
    #[serde(
        default,
        alias = "allowed_function_names",
        deserialize_with = "null_as_empty"
    )]
    allowed_function_names: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WGenerationConfig {
    #[serde(default, alias = "max_output_tokens")]
    max_output_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default, alias = "top_p")]
    top_p: Option<f64>,
    /// An integer on the Gemini API, a number on Vertex.
    #[serde(default, alias = "top_k")]
    top_k: Option<f64>,
    #[serde(default, alias = "stop_sequences", deserialize_with = "null_as_empty")]
    stop_sequences: Vec<String>,
    #[serde(default)]
    seed: Option<i64>,
    #[serde(default, alias = "presence_penalty")]
    presence_penalty: Option<f64>,
    #[serde(default, alias = "frequency_penalty")]
    frequency_penalty: Option<f64>,
    #[serde(default, alias = "response_mime_type")]
    response_mime_type: Option<String>,
    #[serde(default, alias = "response_schema")]
    response_schema: Option<Value>,
    #[serde(default, alias = "response_json_schema")]
    response_json_schema: Option<Value>,
    #[serde(default, alias = "thinking_config")]
    thinking_config: Option<WThinkingConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WThinkingConfig {
    #[serde(default, alias = "thinking_budget")]
    thinking_budget: Option<i64>,
    #[serde(default, alias = "include_thoughts")]
    include_thoughts: Option<bool>,
    #[serde(default, alias = "thinking_level")]
    thinking_level: Option<String>,
}

/// A client's `generateContent` body (the model and streaming come from the
/// URL) as a canonical request.
pub fn decode_request(model: &str, stream: bool, body: &[u8]) -> Result<ChatRequest, ConvertError> {
    let w: WRequest = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid generateContent body: {e}")))?;

    let system = w
        .system_instruction
        .map(|c| c.parts.into_iter().filter_map(|p| p.text).collect())
        .unwrap_or_default();

    let messages = decode_contents(w.contents)?;

    let tools = w
        .tools
        .into_iter()
        .flat_map(|t| t.function_declarations)
        .map(|f| Tool {
            name: f.name,
            description: f.description.filter(|d| !d.is_empty()),
            parameters: match (f.parameters_json_schema, f.parameters) {
                (Some(js), _) => js,
                (None, Some(p)) => from_gemini_schema(&p),
                (None, None) => json!({"type": "object", "properties": {}}),
            },
        })
        .collect();

    let tool_choice = w
        .tool_config
        .and_then(|c| c.function_calling_config)
        .and_then(|c| {
            let mode = c.mode.unwrap_or_default().to_ascii_uppercase();
            Some(match mode.as_str() {
                "AUTO" | "VALIDATED" => ToolChoice::Auto,
                "NONE" => ToolChoice::None,
                "ANY" => match c.allowed_function_names.as_slice() {
                    [one] => ToolChoice::Tool(one.clone()),
                    _ => ToolChoice::Required,
                },
                _ => return None,
            })
        });

    let g = w.generation_config.unwrap_or_default();
    let response_format = match (
        g.response_mime_type.as_deref(),
        g.response_schema,
        g.response_json_schema,
    ) {
        (Some("text/plain"), None, None) => Some(ResponseFormat::Text),
        (None | Some("application/json"), schema, json_schema)
            if schema.is_some() || json_schema.is_some() =>
        {
            Some(ResponseFormat::JsonSchema {
                name: "response".into(),
                schema: match (json_schema, schema) {
                    (Some(js), _) => js,
                    (None, Some(s)) => from_gemini_schema(&s),
                    (None, None) => Value::Null,
                },
                strict: None,
            })
        }
        (Some("application/json"), _, _) => Some(ResponseFormat::JsonObject),
        _ => None,
    };

    let reasoning = g.thinking_config.and_then(|t| {
        let budget_tokens = t.thinking_budget.and_then(|b| u32::try_from(b).ok());
        let effort = t
            .thinking_level
            .map(|l| l.to_ascii_lowercase())
            .filter(|l| !l.is_empty() && l != "thinking_level_unspecified");
        if budget_tokens.is_some() || effort.is_some() || t.include_thoughts == Some(true) {
            Some(Reasoning {
                effort,
                budget_tokens,
            })
        } else {
            None
        }
    });

    Ok(ChatRequest {
        model: model.to_string(),
        system,
        messages,
        max_tokens: g.max_output_tokens,
        temperature: g.temperature,
        top_p: g.top_p,
        top_k: g
            .top_k
            .filter(|k| k.is_finite() && *k >= 0.0 && *k <= f64::from(u32::MAX))
            .map(|k| k.round() as u32),
        stop: g.stop_sequences,
        stream,
        tools,
        tool_choice,
        parallel_tool_calls: None,
        response_format,
        reasoning,
        presence_penalty: g.presence_penalty,
        frequency_penalty: g.frequency_penalty,
        seed: g.seed,
        user: None,
    })
}

/// `contents` as canonical messages: `model` turns are assistant messages;
/// `user` turns are split into runs of function responses (tool messages)
/// and everything else (user messages). Consecutive same-role turns are
/// merged first, as the encoder merges them.
fn decode_contents(contents: Vec<WContent>) -> Result<Vec<Message>, ConvertError> {
    let mut turns: Vec<(Role, Vec<WPart>)> = Vec::new();
    for (i, c) in contents.into_iter().enumerate() {
        let role = match c.role.as_deref() {
            None | Some("" | "user" | "function" | "tool") => Role::User,
            Some("model" | "assistant") => Role::Assistant,
            Some(r) => {
                return Err(ConvertError::new(
                    format!("contents[{i}].role"),
                    format!("unknown role {r:?}"),
                ));
            }
        };
        match turns.last_mut() {
            Some((last, parts)) if *last == role => parts.extend(c.parts),
            _ => turns.push((role, c.parts)),
        }
    }
    let mut dec = PartDecoder::default();
    let mut messages: Vec<Message> = Vec::new();
    for (role, parts) in turns {
        let mut content = Vec::new();
        for p in parts {
            dec.part(p, &mut content);
        }
        if role == Role::Assistant {
            if !content.is_empty() {
                messages.push(Message { role, content });
            }
            continue;
        }
        for part in content {
            let role = if matches!(part, Part::ToolResult { .. }) {
                Role::Tool
            } else {
                Role::User
            };
            match messages.last_mut() {
                Some(m) if m.role == role => m.content.push(part),
                _ => messages.push(Message {
                    role,
                    content: vec![part],
                }),
            }
        }
    }
    Ok(messages)
}

/// The name of the call with this id, searching backwards from message `i`.
fn call_name(messages: &[Message], i: usize, id: &str) -> Option<String> {
    messages[..=i.min(messages.len().saturating_sub(1))]
        .iter()
        .rev()
        .flat_map(|m| m.content.iter().rev())
        .find_map(|p| match p {
            Part::ToolCall { id: cid, name, .. } if cid == id => Some(name.clone()),
            _ => None,
        })
}

/// A canonical request as a `generateContent` body (the model goes in the
/// URL, not the body).
pub fn encode_request(req: &ChatRequest) -> Result<Vec<u8>, ConvertError> {
    // Gemini has no system role in `contents`.
    let req = &*req.fold_system_messages();
    let mut body = Map::new();

    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, m) in req.messages.iter().enumerate() {
        let role = match m.role {
            Role::Assistant => "model",
            Role::User | Role::Tool => "user",
            // Folded into `systemInstruction` above.
            Role::System => continue,
        };
        let lookup = |id: &str| call_name(&req.messages, i, id);
        let parts = encode_parts(
            &m.content,
            &format!("messages[{i}]"),
            Strictness::Request,
            &lookup,
        )?;
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some((r, p)) if *r == role => p.extend(parts),
            _ => contents.push((role, parts)),
        }
    }
    body.insert(
        "contents".into(),
        Value::Array(
            contents
                .into_iter()
                .map(|(role, parts)| json!({"role": role, "parts": parts}))
                .collect(),
        ),
    );

    if !req.system.is_empty() {
        let parts: Vec<Value> = req.system.iter().map(|t| json!({ "text": t })).collect();
        body.insert("systemInstruction".into(), json!({ "parts": parts }));
    }

    if !req.tools.is_empty() {
        let decls: Vec<Value> = req.tools.iter().map(function_declaration).collect();
        body.insert("tools".into(), json!([{ "functionDeclarations": decls }]));
    }

    if let Some(tc) = &req.tool_choice {
        let cfg = match tc {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Tool(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        body.insert("toolConfig".into(), json!({ "functionCallingConfig": cfg }));
    }

    let g = generation_config(req)?;
    if !g.is_empty() {
        body.insert("generationConfig".into(), Value::Object(g));
    }

    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| ConvertError::new("", format!("cannot serialise request: {e}")))
}

fn function_declaration(t: &Tool) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), t.name.clone().into());
    if let Some(desc) = t.description.as_ref().filter(|d| !d.is_empty()) {
        d.insert("description".into(), desc.clone().into());
    }
    if !t.parameters.is_null() {
        let mut p = to_gemini_schema(&t.parameters);
        // Function parameters must be an OBJECT schema.
        if let Value::Object(m) = &mut p {
            m.entry("type").or_insert_with(|| "OBJECT".into());
        }
        d.insert("parameters".into(), p);
    }
    Value::Object(d)
}

fn generation_config(req: &ChatRequest) -> Result<Map<String, Value>, ConvertError> {
    let mut g = Map::new();
    if let Some(v) = req.max_tokens {
        g.insert("maxOutputTokens".into(), v.into());
    }
    if let Some(v) = req.temperature {
        g.insert("temperature".into(), v.into());
    }
    if let Some(v) = req.top_p {
        g.insert("topP".into(), v.into());
    }
    if let Some(v) = req.top_k {
        g.insert("topK".into(), v.into());
    }
    if !req.stop.is_empty() {
        g.insert("stopSequences".into(), req.stop.clone().into());
    }
    if let Some(v) = req.seed {
        let seed = i32::try_from(v)
            .map_err(|_| ConvertError::new("seed", "Gemini seeds are 32-bit integers"))?;
        g.insert("seed".into(), seed.into());
    }
    if let Some(v) = req.presence_penalty {
        g.insert("presencePenalty".into(), v.into());
    }
    if let Some(v) = req.frequency_penalty {
        g.insert("frequencyPenalty".into(), v.into());
    }
    match &req.response_format {
        None => {}
        Some(ResponseFormat::Text) => {
            g.insert("responseMimeType".into(), "text/plain".into());
        }
        Some(ResponseFormat::JsonObject) => {
            g.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            g.insert("responseMimeType".into(), "application/json".into());
            if !schema.is_null() {
                g.insert("responseSchema".into(), to_gemini_schema(schema));
            }
        }
    }
    if let Some(r) = &req.reasoning {
        g.insert(
            "thinkingConfig".into(),
            Value::Object(thinking_config(r, &req.model)),
        );
    }
    Ok(g)
}

/// Reasoning as `thinkingConfig`: an explicit budget is sent as
/// `thinkingBudget`; an effort becomes `thinkingLevel` for Gemini 3 models
/// (only `low`/`high`, which every Gemini 3 model accepts) and otherwise a
/// budget via [`Reasoning::budget`]. Thoughts are requested
/// (`includeThoughts`) unless thinking is off (budget 0).
fn thinking_config(r: &Reasoning, model: &str) -> Map<String, Value> {
    let mut t = Map::new();
    let effort = r.effort.as_deref();
    let budget = if r.budget_tokens.is_none() && effort == Some("none") {
        Some(0)
    } else if r.budget_tokens.is_none()
        && model.contains("gemini-3")
        && matches!(effort, Some("low" | "high"))
    {
        t.insert("thinkingLevel".into(), effort.unwrap_or_default().into());
        None
    } else {
        r.budget()
    };
    if let Some(b) = budget {
        t.insert("thinkingBudget".into(), b.into());
    }
    if budget != Some(0) {
        t.insert("includeThoughts".into(), true.into());
    }
    t
}
