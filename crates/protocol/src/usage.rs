//! Token usage as reported by OpenAI-style responses and stream chunks.

use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
}

#[derive(Deserialize)]
struct WireUsage {
    /// `input_tokens`: the images and audio APIs' spelling.
    #[serde(default, alias = "input_tokens")]
    prompt_tokens: u64,
    #[serde(default, alias = "output_tokens")]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WithUsage<'a> {
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, borrow)]
    choices: Option<Vec<&'a serde_json::value::RawValue>>,
}

impl From<WireUsage> for Usage {
    fn from(w: WireUsage) -> Self {
        Usage {
            input_tokens: w.prompt_tokens,
            output_tokens: w.completion_tokens,
            total_tokens: w
                .total_tokens
                .unwrap_or(w.prompt_tokens + w.completion_tokens),
            cached_tokens: w
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            reasoning_tokens: w
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

/// An OpenAI `usage` object on its own (`{"prompt_tokens":..}`).
pub fn parse_usage_object(json: &[u8]) -> Option<Usage> {
    serde_json::from_slice::<WireUsage>(json)
        .ok()
        .map(Usage::from)
}

/// The usage a pass-through API's answer reports: `usage` (OpenAI images
/// and transcriptions, Jina and vLLM rerank, where only `total_tokens` may
/// be given: all input) or Cohere's `meta.billed_units` (`input_tokens`,
/// `output_tokens`; search units are not tokens and are not counted).
pub fn passthrough_usage(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        usage: Option<WireUsage>,
        #[serde(default)]
        meta: Option<Meta>,
    }
    #[derive(Deserialize)]
    struct Meta {
        #[serde(default)]
        billed_units: Option<WireUsage>,
    }
    let a: Answer = serde_json::from_slice(body).ok()?;
    let w = a.usage.or(a.meta.and_then(|m| m.billed_units))?;
    let mut u = Usage::from(w);
    if u.input_tokens == 0 && u.output_tokens == 0 {
        u.input_tokens = u.total_tokens;
    }
    (u.total_tokens > 0 || u.input_tokens > 0).then_some(u)
}

/// What a chat-completion chunk says about usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkUsage {
    pub usage: Usage,
    /// The chunk carries no choices: it exists only to report usage (the
    /// chunk `stream_options.include_usage` adds at the end of a stream).
    pub usage_only: bool,
}

/// Usage in an OpenAI chunk or response body, if it has a non-null `usage`.
///
/// Cheap on chunks without usage: the JSON is only parsed when the bytes
/// mention `"usage"` followed by an object; and then, when the chunk has
/// no backslash, only the usage object is parsed (see [`usage_in_place`]).
pub fn find_usage(json: &[u8]) -> Option<ChunkUsage> {
    let at = USAGE.find(json)?;
    if memchr::memchr(b'\\', json).is_none()
        && let Some(found) = usage_in_place(json)
    {
        return Some(found);
    }
    if value_after_key(json, at + 7)?.first() != Some(&b'{') {
        return None;
    }
    let parsed: WithUsage<'_> = serde_json::from_slice(json).ok()?;
    let usage = parsed.usage?;
    Some(ChunkUsage {
        usage: usage.into(),
        usage_only: parsed.choices.is_some_and(|c| c.is_empty()),
    })
}

// Built once: `memmem::find` would build a searcher for every chunk.
static USAGE: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"\"usage\""));
static USAGE_LAST: LazyLock<memchr::memmem::FinderRev<'static>> =
    LazyLock::new(|| memchr::memmem::FinderRev::new(b"\"usage\""));
static CHOICES: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b"\"choices\""));

/// For JSON with no backslash: a quote inside a string would be escaped,
/// so every `"usage"` or `"choices"` followed by `:` is a key, and the
/// usage object (the last `usage` key's, as OpenAI puts it after the
/// choices) is read where it stands instead of parsing the whole chunk.
/// `None` when it is not laid out so (the caller parses the chunk).
fn usage_in_place(json: &[u8]) -> Option<ChunkUsage> {
    let object = value_after_key(json, USAGE_LAST.rfind(json)? + 7)?;
    if object.first() != Some(&b'{') {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(object);
    let usage = WireUsage::deserialize(&mut de).ok()?;
    let usage_only = match CHOICES.find(json) {
        None => false,
        Some(at) => {
            let list = value_after_key(json, at + 9)?;
            let inner = list.strip_prefix(b"[")?;
            inner.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b']')
        }
    };
    Some(ChunkUsage {
        usage: usage.into(),
        usage_only,
    })
}

/// What follows `key_end` (just past a key's closing quote) once the `:`
/// and whitespace are stepped over; `None` when no `:` follows.
fn value_after_key(json: &[u8], key_end: usize) -> Option<&[u8]> {
    let rest = json.get(key_end..)?;
    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    let rest = &rest[colon + 1..];
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    Some(&rest[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_through_usage_shapes() {
        let images = br#"{"created":1,"data":[{"b64_json":"x"}],"usage":{"total_tokens":100,"input_tokens":50,"output_tokens":50,"input_tokens_details":{"text_tokens":10,"image_tokens":40}}}"#;
        let u = passthrough_usage(images).unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.total_tokens),
            (50, 50, 100)
        );
        let jina = br#"{"model":"jina-reranker-v2","usage":{"total_tokens":38},"results":[]}"#;
        let u = passthrough_usage(jina).unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (38, 0));
        let cohere = br#"{"id":"r","results":[],"meta":{"api_version":{"version":"2"},"billed_units":{"search_units":1,"input_tokens":12}}}"#;
        assert_eq!(passthrough_usage(cohere).unwrap().input_tokens, 12);
        let units_only = br#"{"results":[],"meta":{"billed_units":{"search_units":1}}}"#;
        assert_eq!(passthrough_usage(units_only), None);
        assert_eq!(passthrough_usage(br#"{"text":"hi"}"#), None);
        assert_eq!(passthrough_usage(b"\xff\xfbbinary"), None);
    }

    #[test]
    fn usage_read_in_place_agrees_with_the_whole_parse() {
        fn whole(json: &[u8]) -> Option<ChunkUsage> {
            let parsed: WithUsage<'_> = serde_json::from_slice(json).ok()?;
            Some(ChunkUsage {
                usage: parsed.usage?.into(),
                usage_only: parsed.choices.is_some_and(|c| c.is_empty()),
            })
        }
        for c in [
            &br#"{"id":"x","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#[..],
            br#"{"id":"x","choices":[ ] , "usage" : { "prompt_tokens" : 1 } }"#,
            br#"{"id":"x","choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":2,"completion_tokens":1}}"#,
            br#"{"usage":{"prompt_tokens":5},"choices":[]}"#,
            br#"{"usage":{"prompt_tokens":5}}"#,
            br#"{"object":"usage","choices":[],"usage":{"prompt_tokens":7}}"#,
            br#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens_details":{"reasoning_tokens":4}}}"#,
        ] {
            assert!(memchr::memchr(b'\\', c).is_none());
            assert_eq!(usage_in_place(c), whole(c), "{}", String::from_utf8_lossy(c));
            assert_eq!(find_usage(c), whole(c), "{}", String::from_utf8_lossy(c));
        }
        // Not laid out as a key and an object: left to the whole parse.
        assert_eq!(
            usage_in_place(br#"{"a":["usage",{"prompt_tokens":1}]}"#),
            None
        );
        assert_eq!(usage_in_place(br#"{"choices":[],"usage":null}"#), None);
        // A backslash anywhere: the whole parse, which sees the escaped
        // quote for what it is.
        let tricky = br#"{"choices":[{"delta":{"content":"say "usage": {"prompt_tokens":99}"}}],"usage":{"prompt_tokens":3}}"#;
        assert_eq!(find_usage(tricky).unwrap().usage.input_tokens, 3);
    }

    #[test]
    fn usage_only_chunk() {
        let c = br#"{"id":"x","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}"#;
        let u = find_usage(c).unwrap();
        assert!(u.usage_only);
        assert_eq!(
            u.usage,
            Usage {
                input_tokens: 9,
                output_tokens: 3,
                total_tokens: 12,
                cached_tokens: 2,
                reasoning_tokens: 1
            }
        );
    }

    #[test]
    fn null_usage_and_content_chunks() {
        assert_eq!(
            find_usage(br#"{"choices":[{"delta":{}}],"usage":null}"#),
            None
        );
        assert_eq!(
            find_usage(br#"{"choices":[{"delta":{"content":"usage"}}]}"#),
            None
        );
        let u = find_usage(br#"{"choices":[{"x":1}], "usage" : {"prompt_tokens":1}}"#).unwrap();
        assert!(!u.usage_only);
        assert_eq!(u.usage.total_tokens, 1);
    }
}
