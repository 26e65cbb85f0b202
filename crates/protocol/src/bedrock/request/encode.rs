//! Canonical requests to Converse / ConverseStream bodies: messages, system,
//! inference settings, tools, and Claude's model-specific fields (`top_k`,
//! `thinking`) with the rules for when thinking is left off.

use serde_json::{Map, Value, json};

use super::blocks::block_json;
use crate::canonical::{ChatRequest, ConvertError, Reasoning, Role, ToolChoice};

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
