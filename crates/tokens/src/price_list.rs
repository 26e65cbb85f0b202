//! The built-in price table: data only (see `prices.rs` for how it is
//! matched). USD per million tokens: `(model or glob, input, cached input,
//! output)`; `None` for cached input means cached tokens cost `input`.
//!
//! Source: the providers' published list prices (standard / pay-as-you-go
//! tier, the lowest context tier where prices are tiered), as published by
//! openai.com/api/pricing, anthropic.com/pricing, ai.google.dev/pricing,
//! api-docs.deepseek.com, alibabacloud.com Model Studio (international),
//! platform.moonshot.ai, mistral.ai/pricing, docs.x.ai, groq.com/pricing,
//! docs.z.ai, minimax.io and aws.amazon.com/bedrock/pricing, as of
//! 2025-11. Only models whose price we are sure of are listed; globs only
//! where every name they match has the same price (dated suffixes), so a
//! new variant is unpriced rather than priced wrongly. Config `prices:`
//! entries override any of these.
//!
//! Not modelled: cache writes (Anthropic bills them at 1.25x input, they
//! are priced as input here), long-context tiers (Gemini 2.5 Pro and
//! Claude Sonnet above 200K prompt tokens cost more), batch and priority
//! tiers, thinking-mode output prices of Qwen, audio and image tokens.

type Entry = (&'static str, f64, Option<f64>, f64);

pub(crate) const BUILT_IN: &[Entry] = &[
    // OpenAI
    ("gpt-5", 1.25, Some(0.125), 10.0),
    ("gpt-5-20*", 1.25, Some(0.125), 10.0),
    ("gpt-5-chat-latest", 1.25, Some(0.125), 10.0),
    ("gpt-5-codex", 1.25, Some(0.125), 10.0),
    ("gpt-5-mini*", 0.25, Some(0.025), 2.0),
    ("gpt-5-nano*", 0.05, Some(0.005), 0.40),
    ("gpt-5-pro*", 15.0, None, 120.0),
    ("gpt-5.1", 1.25, Some(0.125), 10.0),
    ("gpt-5.1-20*", 1.25, Some(0.125), 10.0),
    ("gpt-5.1-chat-latest", 1.25, Some(0.125), 10.0),
    ("gpt-5.1-codex", 1.25, Some(0.125), 10.0),
    ("gpt-5.1-codex-mini", 0.25, Some(0.025), 2.0),
    ("gpt-4.1*", 2.0, Some(0.50), 8.0),
    ("gpt-4.1-mini*", 0.40, Some(0.10), 1.60),
    ("gpt-4.1-nano*", 0.10, Some(0.025), 0.40),
    ("gpt-4o*", 2.50, Some(1.25), 10.0),
    ("gpt-4o-2024-05-13", 5.0, None, 15.0),
    ("gpt-4o-mini*", 0.15, Some(0.075), 0.60),
    ("chatgpt-4o-latest", 5.0, None, 15.0),
    ("o1", 15.0, Some(7.50), 60.0),
    ("o1-20*", 15.0, Some(7.50), 60.0),
    ("o1-preview*", 15.0, Some(7.50), 60.0),
    ("o1-mini*", 1.10, Some(0.55), 4.40),
    ("o1-pro*", 150.0, None, 600.0),
    ("o3", 2.0, Some(0.50), 8.0),
    ("o3-20*", 2.0, Some(0.50), 8.0),
    ("o3-mini*", 1.10, Some(0.55), 4.40),
    ("o3-pro*", 20.0, None, 80.0),
    ("o3-deep-research*", 10.0, Some(2.50), 40.0),
    ("o4-mini", 1.10, Some(0.275), 4.40),
    ("o4-mini-20*", 1.10, Some(0.275), 4.40),
    ("o4-mini-deep-research*", 2.0, Some(0.50), 8.0),
    ("gpt-4-turbo*", 10.0, None, 30.0),
    ("gpt-4-*-preview", 10.0, None, 30.0),
    ("gpt-4", 30.0, None, 60.0),
    ("gpt-4-0613", 30.0, None, 60.0),
    ("gpt-3.5-turbo", 0.50, None, 1.50),
    ("gpt-3.5-turbo-0125", 0.50, None, 1.50),
    ("text-embedding-3-small", 0.02, None, 0.0),
    ("text-embedding-3-large", 0.13, None, 0.0),
    ("text-embedding-ada-002", 0.10, None, 0.0),
    // Anthropic (also on Bedrock and Vertex: `us.anthropic.claude-…`,
    // `claude-sonnet-4@20250514`)
    ("claude-opus-4-5*", 5.0, Some(0.50), 25.0),
    ("claude-opus-4-1*", 15.0, Some(1.50), 75.0),
    ("claude-opus-4-0", 15.0, Some(1.50), 75.0),
    ("claude-opus-4-20*", 15.0, Some(1.50), 75.0),
    ("claude-opus-4@*", 15.0, Some(1.50), 75.0),
    ("claude-sonnet-4-5*", 3.0, Some(0.30), 15.0),
    ("claude-sonnet-4-0", 3.0, Some(0.30), 15.0),
    ("claude-sonnet-4-20*", 3.0, Some(0.30), 15.0),
    ("claude-sonnet-4@*", 3.0, Some(0.30), 15.0),
    ("claude-haiku-4-5*", 1.0, Some(0.10), 5.0),
    ("claude-3-7-sonnet*", 3.0, Some(0.30), 15.0),
    ("claude-3-5-sonnet*", 3.0, Some(0.30), 15.0),
    ("claude-3-5-haiku*", 0.80, Some(0.08), 4.0),
    ("claude-3-opus*", 15.0, Some(1.50), 75.0),
    ("claude-3-haiku*", 0.25, Some(0.03), 1.25),
    // Google Gemini (also on Vertex)
    ("gemini-3-pro-preview", 2.0, Some(0.20), 12.0),
    ("gemini-2.5-pro", 1.25, Some(0.125), 10.0),
    ("gemini-2.5-pro-preview-0*", 1.25, Some(0.125), 10.0),
    ("gemini-2.5-flash", 0.30, Some(0.03), 2.50),
    ("gemini-2.5-flash-preview-09-2025", 0.30, Some(0.03), 2.50),
    ("gemini-2.5-flash-lite", 0.10, Some(0.01), 0.40),
    ("gemini-2.5-flash-lite-preview-*", 0.10, Some(0.01), 0.40),
    ("gemini-2.0-flash", 0.10, Some(0.025), 0.40),
    ("gemini-2.0-flash-0*", 0.10, Some(0.025), 0.40),
    ("gemini-2.0-flash-lite", 0.075, None, 0.30),
    ("gemini-2.0-flash-lite-0*", 0.075, None, 0.30),
    ("gemini-1.5-pro", 1.25, Some(0.3125), 5.0),
    ("gemini-1.5-pro-0*", 1.25, Some(0.3125), 5.0),
    ("gemini-1.5-pro-latest", 1.25, Some(0.3125), 5.0),
    ("gemini-1.5-flash", 0.075, Some(0.01875), 0.30),
    ("gemini-1.5-flash-0*", 0.075, Some(0.01875), 0.30),
    ("gemini-1.5-flash-latest", 0.075, Some(0.01875), 0.30),
    ("gemini-1.5-flash-8b*", 0.0375, Some(0.01), 0.15),
    ("gemini-embedding-001", 0.15, None, 0.0),
    // DeepSeek (V3.2)
    ("deepseek-chat", 0.28, Some(0.028), 0.42),
    ("deepseek-reasoner", 0.28, Some(0.028), 0.42),
    // Qwen (Model Studio international, non-thinking output)
    ("qwen-max*", 1.60, None, 6.40),
    ("qwen-plus*", 0.40, None, 1.20),
    ("qwen-turbo*", 0.05, None, 0.20),
    // Moonshot
    ("moonshot-v1-8k*", 0.20, None, 2.0),
    ("moonshot-v1-32k*", 1.0, None, 3.0),
    ("moonshot-v1-128k*", 2.0, None, 5.0),
    ("kimi-k2-0*-preview", 0.60, Some(0.15), 2.50),
    ("kimi-k2-thinking", 0.60, Some(0.15), 2.50),
    // Mistral
    ("mistral-large-24*", 2.0, None, 6.0),
    ("mistral-medium-25*", 0.40, None, 2.0),
    ("mistral-small-25*", 0.10, None, 0.30),
    ("magistral-medium-25*", 2.0, None, 5.0),
    ("magistral-small-25*", 0.50, None, 1.50),
    ("codestral-25*", 0.30, None, 0.90),
    ("open-mistral-nemo*", 0.15, None, 0.15),
    ("ministral-8b-24*", 0.10, None, 0.10),
    ("ministral-3b-24*", 0.04, None, 0.04),
    ("mistral-embed", 0.10, None, 0.0),
    // xAI
    ("grok-4", 3.0, Some(0.75), 15.0),
    ("grok-4-0709", 3.0, Some(0.75), 15.0),
    ("grok-4-fast-reasoning", 0.20, Some(0.05), 0.50),
    ("grok-4-fast-non-reasoning", 0.20, Some(0.05), 0.50),
    ("grok-code-fast-1", 0.20, Some(0.02), 1.50),
    ("grok-3", 3.0, Some(0.75), 15.0),
    ("grok-3-mini", 0.30, Some(0.075), 0.50),
    // Groq
    ("llama-3.3-70b-versatile", 0.59, None, 0.79),
    ("llama-3.1-8b-instant", 0.05, None, 0.08),
    // Zhipu (Z.ai)
    ("glm-4.6", 0.60, Some(0.11), 2.20),
    ("glm-4.5", 0.60, Some(0.11), 2.20),
    ("glm-4.5-air", 0.20, Some(0.03), 1.10),
    // MiniMax
    ("MiniMax-M2", 0.30, None, 1.20),
    // Amazon Nova on Bedrock (`us.amazon.nova-pro-v1:0`)
    ("nova-pro-v1*", 0.80, Some(0.20), 3.20),
    ("nova-lite-v1*", 0.06, Some(0.015), 0.24),
    ("nova-micro-v1*", 0.035, Some(0.00875), 0.14),
];
