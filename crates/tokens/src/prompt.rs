//! Prompt (input) token counts.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use switchyard_protocol::canonical::{ChatRequest, Part, Tool};

use crate::engine::Engine;
use crate::method::{Encoding, Method, method_for};

/// Framing tokens around every message (`<|start|>{role}<|message|>...<|end|>`
/// less the role): OpenAI cookbook, "How to count tokens with tiktoken".
pub const TOKENS_PER_MESSAGE: u64 = 3;
/// The role itself (`system`, `user`, `assistant`, `tool`): one token in
/// every OpenAI encoding.
pub const TOKENS_PER_ROLE: u64 = 1;
/// Extra token when a message carries a `name`.
pub const TOKENS_PER_NAME: u64 = 1;
/// Every reply is primed with `<|start|>assistant<|message|>`.
pub const REPLY_PRIMING: u64 = 3;
/// Flat cost of one image part: what gpt-4o bills for a typical photo at
/// the default `detail: auto` (scaled to 1024×768: 85 + 4 tiles × 170).
///
/// The real cost depends on the image size, the detail level (which the
/// canonical model does not keep) and the provider, none of which the
/// gateway knows without fetching and decoding the image: `detail: low` is
/// 85, a small image ~255, Gemini 258 per 768-px tile, Claude up to ~1600,
/// gpt-4o-mini and gpt-5 family several thousand. The recorded fixtures
/// show 436 (gpt-4o, small image) and ~2230 (gpt-5-nano, 2560-px photo).
/// 85 (the floor) would undercount nearly every real image.
pub const IMAGE_TOKENS: u64 = 765;

/// Prompt tokens of a chat request, the way OpenAI counts them.
///
/// Per the OpenAI cookbook formula: for each system prompt and each message,
/// [`TOKENS_PER_MESSAGE`] + [`TOKENS_PER_ROLE`] + the tokens of its content;
/// [`TOKENS_PER_NAME`] + the name's tokens where a tool result names its
/// function; [`REPLY_PRIMING`] once. Content is text parts, tool calls'
/// name and arguments, tool results' content (recursively), and
/// [`IMAGE_TOKENS`] per image. Reasoning parts (`Thinking`,
/// `RedactedThinking`) are not counted: OpenAI drops them from the prompt
/// and Anthropic strips them from earlier turns. Tool definitions are
/// counted with the cookbook's `num_tokens_for_tools` formula (names,
/// descriptions, property names, types and enums, plus fixed framing).
///
/// Not modelled: hidden prompts a provider adds (Anthropic's tool-use system
/// prompt, ~300-500 tokens; gpt-5's larger tool preamble), the
/// `response_format` schema, and the real size of images.
///
/// `model` is the model the upstream was asked for (it picks the encoding;
/// `req.model` may be a client-side alias).
pub fn count_prompt(model: &str, req: &ChatRequest) -> u64 {
    count_prompt_with(method_for(model), req)
}

/// A quick estimate of the prompt, for a reservation made before the call:
/// [`count_prompt`]'s framing with the character heuristic in place of the
/// tokenizer (no BPE on the request path; the real usage replaces it).
pub fn estimate_prompt(req: &ChatRequest) -> u64 {
    count_prompt_with(Method::Approximate, req)
}

/// [`estimate_prompt`] read straight from an OpenAI chat completions body,
/// without decoding it: the prompt estimate and `max_completion_tokens`
/// (else `max_tokens`). `None` when the body has something this light read
/// does not price (content parts, tools, not JSON): decode it and use
/// [`estimate_prompt`].
pub fn estimate_openai_chat(body: &[u8]) -> Option<(u64, Option<u64>)> {
    #[derive(Deserialize)]
    struct Light<'a> {
        #[serde(borrow)]
        messages: Vec<LightMessage<'a>>,
        #[serde(default)]
        max_tokens: Option<u64>,
        #[serde(default)]
        max_completion_tokens: Option<u64>,
        #[serde(default, borrow)]
        tools: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct LightMessage<'a> {
        #[serde(default, borrow)]
        content: Option<std::borrow::Cow<'a, str>>,
        #[serde(default, borrow)]
        tool_calls: Option<&'a RawValue>,
    }
    let light: Light<'_> = serde_json::from_slice(body).ok()?;
    if light.tools.is_some_and(|t| t.get() != "null") {
        return None;
    }
    let engine = Engine::for_method(Method::Approximate);
    let mut total = REPLY_PRIMING;
    for m in &light.messages {
        if m.tool_calls.is_some_and(|t| t.get() != "null") {
            return None;
        }
        total = total
            .saturating_add(TOKENS_PER_MESSAGE + TOKENS_PER_ROLE)
            .saturating_add(m.content.as_deref().map_or(0, |c| engine.count(c)));
    }
    Some((total, light.max_completion_tokens.or(light.max_tokens)))
}

fn count_prompt_with(method: Method, req: &ChatRequest) -> u64 {
    let engine = Engine::for_method(method);
    let mut total = REPLY_PRIMING;
    for s in &req.system {
        total = total
            .saturating_add(TOKENS_PER_MESSAGE + TOKENS_PER_ROLE)
            .saturating_add(engine.count(s));
    }
    for m in &req.messages {
        total = total
            .saturating_add(TOKENS_PER_MESSAGE + TOKENS_PER_ROLE)
            .saturating_add(parts_tokens(engine, &m.content));
    }
    total.saturating_add(tools_tokens(engine, method, &req.tools))
}

/// Tool definitions, per the OpenAI cookbook's `num_tokens_for_tools`
/// (checked there against the API: 101 tokens on gpt-4o, 105 on gpt-4 for
/// its example). OpenAI renders tools as a TypeScript-like namespace, not
/// JSON, so counting the schema's JSON text would overcount (by half on the
/// recorded 19-tool request in the fixtures). The cookbook covers flat
/// schemas; nested parts (`properties`, `items`, `anyOf`, ... inside a
/// property) are counted as their JSON text. Approximate models get the
/// `o200k_base` framing.
fn tools_tokens(engine: Engine, method: Method, tools: &[Tool]) -> u64 {
    if tools.is_empty() {
        return 0;
    }
    let func_init = match method {
        Method::Tiktoken(Encoding::Cl100kBase) => 10,
        Method::Tiktoken(Encoding::O200kBase) | Method::Approximate => 7,
    };
    let mut total = TOOLS_END;
    for tool in tools {
        let desc = tool.description.as_deref().unwrap_or("");
        let line = format!("{}:{}", tool.name, strip_period(desc));
        total = total
            .saturating_add(func_init)
            .saturating_add(engine.count(&line));
        let props = tool.parameters.get("properties").and_then(Value::as_object);
        if let Some(props) = props
            && !props.is_empty()
        {
            total = total.saturating_add(3);
            for (key, schema) in props {
                total = total
                    .saturating_add(3)
                    .saturating_add(property_tokens(engine, key, schema));
            }
        }
    }
    total
}

/// Closes the tool namespace.
const TOOLS_END: u64 = 12;

fn property_tokens(engine: Engine, key: &str, schema: &Value) -> u64 {
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => String::new(),
    };
    let desc = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut n = engine.count(&format!("{key}:{ty}:{}", strip_period(desc)));
    if let Some(items) = schema.get("enum").and_then(Value::as_array) {
        for item in items {
            let t = match item {
                Value::String(s) => engine.count(s),
                other => engine.count(&other.to_string()),
            };
            n = n.saturating_add(3).saturating_add(t);
        }
        n = n.saturating_sub(3);
    }
    for nested in ["properties", "items", "anyOf", "oneOf", "allOf", "$defs"] {
        if let Some(v) = schema.get(nested) {
            n = n.saturating_add(engine.count(&v.to_string()));
        }
    }
    n
}

fn strip_period(s: &str) -> &str {
    s.strip_suffix('.').unwrap_or(s)
}

fn parts_tokens(engine: Engine, parts: &[Part]) -> u64 {
    let mut total = 0u64;
    for part in parts {
        let n = match part {
            Part::Text { text } => engine.count(text),
            Part::Image { .. } => IMAGE_TOKENS,
            Part::ToolCall {
                name, arguments, ..
            } => engine.count(name).saturating_add(engine.count(arguments)),
            Part::ToolResult { name, content, .. } => {
                let named = match name {
                    Some(n) => engine.count(n).saturating_add(TOKENS_PER_NAME),
                    None => 0,
                };
                named.saturating_add(parts_tokens(engine, content))
            }
            Part::Thinking { .. } | Part::RedactedThinking { .. } => 0,
        };
        total = total.saturating_add(n);
    }
    total
}

/// The fields of a completions or embeddings body that hold the input.
#[derive(Deserialize)]
struct InputFields<'a> {
    #[serde(default, borrow)]
    prompt: Option<&'a RawValue>,
    #[serde(default, borrow)]
    suffix: Option<&'a RawValue>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
}

/// Prompt tokens of an OpenAI legacy completions or embeddings request body.
///
/// `api` is `"completions"` (field `prompt`, plus `suffix` when it is a
/// string) or `"embeddings"` (field `input`). The field may be a string, an
/// array of strings, an array of token ids (its length is the count) or an
/// array of such arrays. `None` when `api` is neither, the body is not a
/// JSON object, or the field is missing, `null` or of another shape.
pub fn count_prompt_json(model: &str, api: &str, body: &[u8]) -> Option<u64> {
    let fields: InputFields<'_> = serde_json::from_slice(body).ok()?;
    let (raw, suffix) = match api {
        "completions" => (fields.prompt?, fields.suffix),
        "embeddings" => (fields.input?, None),
        _ => return None,
    };
    let engine = Engine::for_method(method_for(model));
    let value: Value = serde_json::from_str(raw.get()).ok()?;
    let mut total = input_tokens(engine, &value)?;
    if let Some(s) = suffix
        && let Ok(Value::String(s)) = serde_json::from_str(s.get())
    {
        total = total.saturating_add(engine.count(&s));
    }
    Some(total)
}

/// Tokens of a `prompt` / `input` value; `None` for shapes the API rejects.
fn input_tokens(engine: Engine, value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => Some(engine.count(s)),
        Value::Array(items) => {
            let mut total = 0u64;
            for item in items {
                let n = match item {
                    Value::String(s) => engine.count(s),
                    // One token id.
                    Value::Number(_) => 1,
                    // A token array (only numbers are valid inside).
                    Value::Array(ids) => ids.len() as u64,
                    _ => return None,
                };
                total = total.saturating_add(n);
            }
            Some(total)
        }
        _ => None,
    }
}
