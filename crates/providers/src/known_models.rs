//! Chat models of the provider types that have no `/models` API the
//! gateway calls (catalog entries without [`Api::Models`]): `GET
//! /v1/models` lists these for such a provider, where a route sends them
//! there. Kept to current, generally available models; a provider's own
//! list (types with `/models`) is always fetched instead.

use crate::catalog::{Api, lookup};

static TABLE: &[(&str, &[&str])] = &[
    (
        "bedrock",
        &[
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-opus-4-1-20250805-v1:0",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "amazon.nova-pro-v1:0",
            "amazon.nova-lite-v1:0",
            "amazon.nova-micro-v1:0",
            "meta.llama3-3-70b-instruct-v1:0",
            "mistral.mistral-large-2407-v1:0",
        ],
    ),
    (
        "claude",
        &[
            "claude-opus-4-5",
            "claude-opus-4-1",
            "claude-sonnet-4-5",
            "claude-sonnet-4-0",
            "claude-haiku-4-5",
            "claude-3-7-sonnet-latest",
            "claude-3-5-haiku-latest",
        ],
    ),
    (
        "gemini",
        &[
            "gemini-3-pro-preview",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-2.0-flash",
            "gemini-2.0-flash-lite",
        ],
    ),
    ("minimax", &["MiniMax-M2", "MiniMax-M1", "MiniMax-Text-01"]),
    (
        "vertex",
        &[
            "gemini-3-pro-preview",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-2.0-flash",
            "gemini-2.0-flash-lite",
        ],
    ),
    (
        "zhipuai",
        &[
            "glm-4.6",
            "glm-4.5",
            "glm-4.5-air",
            "glm-4-plus",
            "glm-4-flash",
        ],
    ),
];

/// The models listed for a provider of type `kind` that has no `/models`
/// API; empty for the types that have one (their own list is fetched).
pub fn catalog_models(kind: &str) -> &'static [&'static str] {
    if lookup(kind).is_some_and(|k| k.supports(Api::Models)) {
        return &[];
    }
    TABLE
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, models)| models)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CATALOG;

    #[test]
    fn every_type_without_a_models_api_has_a_list() {
        for k in CATALOG {
            let listed = catalog_models(k.name);
            if k.supports(Api::Models) {
                assert!(listed.is_empty(), "{}: its own /models is used", k.name);
            } else {
                assert!(!listed.is_empty(), "{} has no model list", k.name);
            }
        }
        for (kind, _) in TABLE {
            assert!(lookup(kind).is_some(), "{kind} is not a catalog type");
        }
    }
}
