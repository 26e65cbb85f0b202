//! Model lists: what `GET /v1/models` and `GET /v1/models/{id}` answer, in
//! OpenAI's shape and in Anthropic's (paged with `limit`, `after_id`,
//! `before_id`), and reading a provider's own `/models` answer.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::gemini::format_rfc3339;

/// One model a caller can reach.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelEntry {
    pub id: String,
    /// The provider id that serves it.
    pub owned_by: Arc<str>,
    /// Unix seconds.
    pub created: u64,
    /// As the provider named it (Anthropic's `display_name`), if it did.
    pub display_name: Option<String>,
}

fn openai_value(m: &ModelEntry) -> Value {
    json!({"id": m.id, "object": "model", "created": m.created, "owned_by": &*m.owned_by})
}

/// OpenAI's `{"object": "list", "data": [model...]}`.
pub fn openai_list(models: &[ModelEntry]) -> Vec<u8> {
    let data: Vec<Value> = models.iter().map(openai_value).collect();
    serde_json::to_vec(&json!({"object": "list", "data": data})).unwrap_or_default()
}

/// OpenAI's model object.
pub fn openai_model(m: &ModelEntry) -> Vec<u8> {
    serde_json::to_vec(&openai_value(m)).unwrap_or_default()
}

fn anthropic_value(m: &ModelEntry) -> Value {
    json!({
        "type": "model",
        "id": m.id,
        "display_name": m.display_name.as_deref().unwrap_or(&m.id),
        "created_at": format_rfc3339(m.created),
    })
}

/// Anthropic's model object.
pub fn anthropic_model(m: &ModelEntry) -> Vec<u8> {
    serde_json::to_vec(&anthropic_value(m)).unwrap_or_default()
}

/// Anthropic's list query: `limit` (1-1000, default 20), and `after_id` or
/// `before_id` to page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub limit: Option<usize>,
    pub after_id: Option<String>,
    pub before_id: Option<String>,
}

/// Anthropic's default page size.
pub const ANTHROPIC_PAGE: usize = 20;

/// One page of Anthropic's `{"data", "has_more", "first_id", "last_id"}`.
/// `after_id` wins over `before_id`; an id not in the list gives an empty
/// page (the list changed under the caller), never the first page again.
pub fn anthropic_page(models: &[ModelEntry], page: &Page) -> Vec<u8> {
    let limit = page.limit.unwrap_or(ANTHROPIC_PAGE).clamp(1, 1000);
    let pos = |id: &str| models.iter().position(|m| m.id == id);
    let (lo, hi, backwards) = match (&page.after_id, &page.before_id) {
        (Some(a), _) => match pos(a) {
            Some(i) => (i + 1, models.len(), false),
            None => (0, 0, false),
        },
        (None, Some(b)) => match pos(b) {
            Some(i) => (0, i, true),
            None => (0, 0, true),
        },
        (None, None) => (0, models.len(), false),
    };
    let (start, end, has_more) = if backwards {
        let start = hi.saturating_sub(limit).max(lo);
        (start, hi, start > lo)
    } else {
        let end = (lo + limit).min(hi);
        (lo, end, end < hi)
    };
    let slice = &models[start..end];
    let data: Vec<Value> = slice.iter().map(anthropic_value).collect();
    serde_json::to_vec(&json!({
        "data": data,
        "has_more": has_more,
        "first_id": slice.first().map(|m| m.id.as_str()),
        "last_id": slice.last().map(|m| m.id.as_str()),
    }))
    .unwrap_or_default()
}

/// A model in a provider's own list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub created: Option<u64>,
    pub display_name: Option<String>,
}

/// A provider's `/models` answer: OpenAI's and Anthropic's `data[].id`
/// (with `created`, `display_name` when present) or Gemini's
/// `models[].name` (`models/` removed). At most `max` models are kept.
pub fn parse_model_list(body: &[u8], max: usize) -> Result<Vec<Listed>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON ({e})"))?;
    let (items, key) = if let Some(d) = v.get("data").and_then(Value::as_array) {
        (d, "id")
    } else if let Some(m) = v.get("models").and_then(Value::as_array) {
        (m, "name")
    } else {
        return Err("the answer has neither `data` nor `models`".into());
    };
    let mut out = Vec::new();
    for item in items.iter().take(max) {
        let Some(id) = item.get(key).and_then(Value::as_str) else {
            continue;
        };
        let id = id.strip_prefix("models/").unwrap_or(id);
        if id.is_empty() {
            continue;
        }
        out.push(Listed {
            id: id.to_string(),
            created: item.get("created").and_then(Value::as_u64),
            display_name: item
                .get("display_name")
                .or_else(|| item.get("displayName"))
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entries(n: usize) -> Vec<ModelEntry> {
        (0..n)
            .map(|i| ModelEntry {
                id: format!("m{i}"),
                owned_by: Arc::from("p"),
                created: 1_700_000_000,
                display_name: None,
            })
            .collect()
    }

    fn ids(body: &[u8]) -> (Vec<String>, bool, Value, Value) {
        let v: Value = serde_json::from_slice(body).unwrap();
        let ids = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        (
            ids,
            v["has_more"].as_bool().unwrap(),
            v["first_id"].clone(),
            v["last_id"].clone(),
        )
    }

    #[test]
    fn openai_shapes() {
        let e = entries(2);
        let v: Value = serde_json::from_slice(&openai_list(&e)).unwrap();
        assert_eq!(v["object"], "list");
        assert_eq!(v["data"][1]["id"], "m1");
        assert_eq!(v["data"][1]["object"], "model");
        assert_eq!(v["data"][1]["owned_by"], "p");
        assert_eq!(v["data"][1]["created"], 1_700_000_000);
        let v: Value = serde_json::from_slice(&openai_model(&e[0])).unwrap();
        assert_eq!(v["id"], "m0");
    }

    #[test]
    fn anthropic_pages_forward_and_back() {
        let e = entries(5);
        let page = |limit, after: Option<&str>, before: Option<&str>| {
            ids(&anthropic_page(
                &e,
                &Page {
                    limit,
                    after_id: after.map(String::from),
                    before_id: before.map(String::from),
                },
            ))
        };
        let (all, more, first, last) = page(None, None, None);
        assert_eq!(all, ["m0", "m1", "m2", "m3", "m4"]);
        assert!(!more);
        assert_eq!((first, last), (json!("m0"), json!("m4")));
        let (p1, more, _, last) = page(Some(2), None, None);
        assert_eq!(
            (p1, more, last),
            (vec!["m0".into(), "m1".into()], true, json!("m1"))
        );
        let (p2, more, _, _) = page(Some(2), Some("m1"), None);
        assert_eq!((p2, more), (vec!["m2".to_string(), "m3".to_string()], true));
        let (p3, more, _, _) = page(Some(2), Some("m3"), None);
        assert_eq!((p3, more), (vec!["m4".to_string()], false));
        let (b, more, _, _) = page(Some(2), None, Some("m3"));
        assert_eq!((b, more), (vec!["m1".to_string(), "m2".to_string()], true));
        let (b, more, _, _) = page(Some(2), None, Some("m1"));
        assert_eq!((b, more), (vec!["m0".to_string()], false));
        let (gone, more, first, _) = page(None, Some("nope"), None);
        assert!(gone.is_empty() && !more && first.is_null());
        let v: Value = serde_json::from_slice(&anthropic_model(&e[0])).unwrap();
        assert_eq!(v["type"], "model");
        assert_eq!(v["display_name"], "m0");
        assert_eq!(v["created_at"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn provider_lists_in_every_shape() {
        let openai = br#"{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},{"object":"model"}]}"#;
        let l = parse_model_list(openai, 100).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].id, "gpt-4o");
        assert_eq!(l[0].created, Some(1715367049));
        let anthropic = br#"{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false}"#;
        let l = parse_model_list(anthropic, 100).unwrap();
        assert_eq!(l[0].display_name.as_deref(), Some("Claude Sonnet 4.5"));
        let gemini =
            br#"{"models":[{"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash"}]}"#;
        let l = parse_model_list(gemini, 100).unwrap();
        assert_eq!(l[0].id, "gemini-2.5-flash");
        assert_eq!(parse_model_list(openai, 0).unwrap().len(), 0);
        assert!(parse_model_list(b"{}", 10).is_err());
        assert!(parse_model_list(b"<html>", 10).is_err());
    }
}
