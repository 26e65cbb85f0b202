//! OpenAI response bodies: chat and legacy completions, their SSE streams,
//! embeddings and the model list.

use bytes::Bytes;

use super::answer::{Answer, ToolCall};
use super::ids::splitmix;
use super::json::Out;
use super::request::{Item, list_tokens};

fn usage(o: &mut Out, prompt: u64, completion: u64) {
    o.raw("{\"prompt_tokens\":")
        .num(prompt)
        .raw(",\"completion_tokens\":")
        .num(completion)
        .raw(",\"total_tokens\":")
        .num(prompt + completion)
        .raw("}");
}

/// Common data of one response.
pub(crate) struct Meta<'a> {
    pub id: &'a [u8; 16],
    pub created: u64,
    pub model: &'a str,
    pub prompt_tokens: u64,
    /// Report token usage (`false` for [`crate::Behaviour::NoUsage`]): no
    /// `usage` field, no usage chunk even when the client asked for one.
    pub usage: bool,
}

pub(crate) fn chat_completion(m: &Meta<'_>, a: &Answer, call: Option<&ToolCall>) -> Bytes {
    let mut o = Out::with_capacity(320 + a.text.len() + m.model.len());
    o.raw("{\"id\":\"chatcmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"chat.completion\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":")
        .str(&a.text)
        .raw(",\"refusal\":null");
    if let Some(c) = call {
        o.raw(",\"tool_calls\":[{\"id\":\"call_")
            .bytes(&c.id)
            .raw("\",\"type\":\"function\",\"function\":{\"name\":")
            .str(&c.name)
            .raw(",\"arguments\":")
            .str(&c.arguments)
            .raw("}}]");
    }
    o.raw("},\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]");
    if m.usage {
        o.raw(",\"usage\":");
        usage(
            &mut o,
            m.prompt_tokens,
            a.words + call.map_or(0, ToolCall::tokens),
        );
    }
    o.raw(",\"system_fingerprint\":\"fp_emulator\"}");
    o.into_bytes()
}

pub(crate) fn text_completion(m: &Meta<'_>, a: &Answer) -> Bytes {
    let mut o = Out::with_capacity(256 + a.text.len() + m.model.len());
    o.raw("{\"id\":\"cmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"text_completion\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"choices\":[{\"text\":")
        .str(&a.text)
        .raw(",\"index\":0,\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]");
    if m.usage {
        o.raw(",\"usage\":");
        usage(&mut o, m.prompt_tokens, a.words);
    }
    o.raw(",\"system_fingerprint\":\"fp_emulator\"}");
    o.into_bytes()
}

/// A whole SSE stream in one buffer plus the end offset of every event.
pub(crate) struct Sse {
    pub data: Bytes,
    pub ends: Vec<usize>,
}

/// Streamed chat: role chunk, `chunks` content chunks, [tool call chunk +
/// 2-3 argument chunks], finish chunk, usage chunk (when `include_usage` and
/// `m.usage`), `[DONE]`.
pub(crate) fn chat_stream(
    m: &Meta<'_>,
    a: &Answer,
    call: Option<&ToolCall>,
    chunks: usize,
    include_usage: bool,
) -> Sse {
    let mut head = Out::with_capacity(128 + m.model.len());
    head.raw("data: {\"id\":\"chatcmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"chat.completion.chunk\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"system_fingerprint\":\"fp_emulator\",\"choices\":[");
    let head = head.0;
    let per = head.len() + 80;
    let mut o = Out::with_capacity(per * (chunks + 4) + a.text.len() + 64);
    let mut ends = Vec::with_capacity(chunks + 4);

    o.bytes(&head).raw(
        "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    );
    ends.push(o.len());
    for piece in a.pieces(chunks) {
        o.bytes(&head)
            .raw("{\"index\":0,\"delta\":{\"content\":")
            .str(piece)
            .raw("},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        ends.push(o.len());
    }
    if let Some(c) = call {
        o.bytes(&head)
            .raw("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_")
            .bytes(&c.id)
            .raw("\",\"type\":\"function\",\"function\":{\"name\":")
            .str(&c.name)
            .raw(",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        ends.push(o.len());
        for frag in crate::native::split_json(&c.arguments) {
            o.bytes(&head)
                .raw("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":")
                .str(frag)
                .raw("}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
            ends.push(o.len());
        }
    }
    o.bytes(&head)
        .raw("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]}\n\n");
    ends.push(o.len());
    if include_usage && m.usage {
        o.bytes(&head).raw("],\"usage\":");
        usage(
            &mut o,
            m.prompt_tokens,
            a.words + call.map_or(0, ToolCall::tokens),
        );
        o.raw("}\n\n");
        ends.push(o.len());
    }
    o.raw("data: [DONE]\n\n");
    ends.push(o.len());
    Sse {
        data: o.into_bytes(),
        ends,
    }
}

/// Streamed legacy completion: `chunks` text chunks, finish chunk, usage
/// chunk (when `include_usage` and `m.usage`), `[DONE]`.
pub(crate) fn text_stream(m: &Meta<'_>, a: &Answer, chunks: usize, include_usage: bool) -> Sse {
    let mut head = Out::with_capacity(128 + m.model.len());
    head.raw("data: {\"id\":\"cmpl-")
        .bytes(m.id)
        .raw("\",\"object\":\"text_completion\",\"created\":")
        .num(m.created)
        .raw(",\"model\":")
        .str(m.model)
        .raw(",\"system_fingerprint\":\"fp_emulator\",\"choices\":[");
    let head = head.0;
    let per = head.len() + 80;
    let mut o = Out::with_capacity(per * (chunks + 3) + a.text.len() + 64);
    let mut ends = Vec::with_capacity(chunks + 3);
    for piece in a.pieces(chunks) {
        o.bytes(&head)
            .raw("{\"text\":")
            .str(piece)
            .raw(",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        ends.push(o.len());
    }
    o.bytes(&head)
        .raw("{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":")
        .str(a.finish)
        .raw("}]}\n\n");
    ends.push(o.len());
    if include_usage && m.usage {
        o.bytes(&head).raw("],\"usage\":");
        usage(&mut o, m.prompt_tokens, a.words);
        o.raw("}\n\n");
        ends.push(o.len());
    }
    o.raw("data: [DONE]\n\n");
    ends.push(o.len());
    Sse {
        data: o.into_bytes(),
        ends,
    }
}

/// 8 deterministic floats of unit length derived from the input.
fn embedding(o: &mut Out, item: &Item<'_>) {
    // FNV-1a over the text (or the token count), then splitmix.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    match item {
        Item::Text(t) => {
            for b in t.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        Item::Tokens(n) => h ^= *n,
    }
    let mut v = [0f32; 8];
    for (i, x) in v.iter_mut().enumerate() {
        let r = splitmix(h.wrapping_add(i as u64));
        // Uniform in [-1, 1).
        *x = ((r >> 40) as f32 / (1u64 << 23) as f32) - 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    o.raw("[");
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            o.raw(",");
        }
        o.float(x / norm);
    }
    o.raw("]");
}

/// The `list` of embeddings; `usage: false` leaves out the `usage` field.
pub(crate) fn embeddings(model: &str, items: &[Item<'_>], usage: bool) -> Bytes {
    let mut o = Out::with_capacity(128 + model.len() + items.len() * 160);
    o.raw("{\"object\":\"list\",\"data\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            o.raw(",");
        }
        o.raw("{\"object\":\"embedding\",\"index\":")
            .num(i as u64)
            .raw(",\"embedding\":");
        embedding(&mut o, item);
        o.raw("}");
    }
    o.raw("],\"model\":").str(model);
    if usage {
        let p = list_tokens(items);
        o.raw(",\"usage\":{\"prompt_tokens\":")
            .num(p)
            .raw(",\"total_tokens\":")
            .num(p)
            .raw("}");
    }
    o.raw("}");
    o.into_bytes()
}

pub(crate) const MODELS: &[&str] = &[
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o3-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    // For routes by pattern (`qwen-*`, `mock-*`): listed by the gateway's
    // `GET /v1/models` only through the provider's own list.
    "qwen-plus",
    "qwen-flash",
    "mock-small",
    "mock-large",
];

pub(crate) fn models_body() -> Bytes {
    let mut o = Out::with_capacity(1024);
    o.raw("{\"object\":\"list\",\"data\":[");
    for (i, id) in MODELS.iter().enumerate() {
        if i > 0 {
            o.raw(",");
        }
        o.raw("{\"id\":")
            .str(id)
            .raw(",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"emulator\"}");
    }
    o.raw("]}");
    o.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{error_body, next_id};

    #[test]
    fn json_is_valid() {
        let id = next_id();
        let m = Meta {
            id: &id,
            created: 1,
            model: "m\"odel",
            prompt_tokens: 3,
            usage: true,
        };
        let a = Answer::new("q\"uote", None);
        let v: serde_json::Value = serde_json::from_slice(&chat_completion(&m, &a, None)).unwrap();
        assert_eq!(v["model"], "m\"odel");
        assert_eq!(v["usage"]["total_tokens"], 3 + a.words);
        let v: serde_json::Value = serde_json::from_slice(&text_completion(&m, &a)).unwrap();
        assert_eq!(v["choices"][0]["text"], a.text.as_str());
        let items = [Item::Text("abc".into()), Item::Tokens(2)];
        let v: serde_json::Value = serde_json::from_slice(&embeddings("e", &items, true)).unwrap();
        assert_eq!(v["data"][1]["embedding"].as_array().unwrap().len(), 8);
        assert_eq!(v["usage"]["prompt_tokens"], 1 + 2);
        let v: serde_json::Value = serde_json::from_slice(&models_body()).unwrap();
        assert_eq!(v["data"][0]["id"], "gpt-4o-mini");
        let v: serde_json::Value =
            serde_json::from_slice(&error_body("a\nb", "t", Some("p"), None)).unwrap();
        assert_eq!(v["error"]["message"], "a\nb");
        assert!(v["error"]["code"].is_null());
        assert_ne!(next_id(), next_id());
    }

    #[test]
    fn no_usage_bodies_are_valid_json_without_usage() {
        let id = next_id();
        let m = Meta {
            id: &id,
            created: 1,
            model: "m",
            prompt_tokens: 3,
            usage: false,
        };
        let a = Answer::new("hi", None);
        let call = ToolCall {
            id: next_id(),
            name: "f".to_owned(),
            arguments: "{\"a\":1}".to_owned(),
        };
        for body in [
            chat_completion(&m, &a, Some(&call)),
            text_completion(&m, &a),
            embeddings("e", &[Item::Text("abc".into())], false),
        ] {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(v.get("usage").is_none(), "{v}");
            assert!(v["model"].is_string(), "{v}");
        }
        for sse in [
            chat_stream(&m, &a, Some(&call), 3, true),
            text_stream(&m, &a, 3, true),
        ] {
            let text = std::str::from_utf8(&sse.data).unwrap();
            assert!(!text.contains("usage"), "{text}");
            assert_eq!(sse.ends.last(), Some(&sse.data.len()));
            for block in text.split_terminator("\n\n") {
                let data = block.strip_prefix("data: ").unwrap();
                if data != "[DONE]" {
                    serde_json::from_str::<serde_json::Value>(data).unwrap();
                }
            }
        }
    }
}
