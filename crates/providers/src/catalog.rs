//! The static table of provider types.

/// A client-facing API the gateway relays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Api {
    ChatCompletions,
    Completions,
    Embeddings,
    Models,
    /// OpenAI Responses (`/responses`).
    Responses,
    ImagesGenerations,
    /// Multipart upload.
    ImagesEdits,
    /// Multipart upload.
    AudioTranscriptions,
    /// Multipart upload.
    AudioTranslations,
    /// JSON in, audio bytes out.
    AudioSpeech,
    Moderations,
    /// Cohere/Jina-shaped reranking (`/rerank`).
    Rerank,
    /// No model: sent to a provider named by the request or the config.
    Files,
    /// No model: sent to a provider named by the request or the config.
    Batches,
    /// Anthropic's `/v1/messages/count_tokens`.
    CountTokens,
}

impl Api {
    pub const ALL: [Api; 15] = [
        Api::ChatCompletions,
        Api::Completions,
        Api::Embeddings,
        Api::Models,
        Api::Responses,
        Api::ImagesGenerations,
        Api::ImagesEdits,
        Api::AudioTranscriptions,
        Api::AudioTranslations,
        Api::AudioSpeech,
        Api::Moderations,
        Api::Rerank,
        Api::Files,
        Api::Batches,
        Api::CountTokens,
    ];

    /// The path suffix of this API under an OpenAI-compatible base path.
    pub fn suffix(self) -> &'static str {
        match self {
            Api::ChatCompletions => "/chat/completions",
            Api::Completions => "/completions",
            Api::Embeddings => "/embeddings",
            Api::Models => "/models",
            Api::Responses => "/responses",
            Api::ImagesGenerations => "/images/generations",
            Api::ImagesEdits => "/images/edits",
            Api::AudioTranscriptions => "/audio/transcriptions",
            Api::AudioTranslations => "/audio/translations",
            Api::AudioSpeech => "/audio/speech",
            Api::Moderations => "/moderations",
            Api::Rerank => "/rerank",
            Api::Files => "/files",
            Api::Batches => "/batches",
            Api::CountTokens => "/messages/count_tokens",
        }
    }

    /// The name used in logs, metrics and errors.
    pub fn name(self) -> &'static str {
        match self {
            Api::ChatCompletions => "chat.completions",
            Api::Completions => "completions",
            Api::Embeddings => "embeddings",
            Api::Models => "models",
            Api::Responses => "responses",
            Api::ImagesGenerations => "images.generations",
            Api::ImagesEdits => "images.edits",
            Api::AudioTranscriptions => "audio.transcriptions",
            Api::AudioTranslations => "audio.translations",
            Api::AudioSpeech => "audio.speech",
            Api::Moderations => "moderations",
            Api::Rerank => "rerank",
            Api::Files => "files",
            Api::Batches => "batches",
            Api::CountTokens => "messages.count_tokens",
        }
    }

    /// The request body is `multipart/form-data` (the model is a form
    /// field).
    pub fn multipart(self) -> bool {
        matches!(
            self,
            Api::ImagesEdits | Api::AudioTranscriptions | Api::AudioTranslations
        )
    }

    /// The model a request without one is routed as: what the provider
    /// itself would default to (OpenAI's documented defaults).
    pub fn default_model(self) -> Option<&'static str> {
        match self {
            Api::Moderations => Some("omni-moderation-latest"),
            Api::ImagesGenerations | Api::ImagesEdits => Some("dall-e-2"),
            _ => None,
        }
    }

    /// Passed through as the provider sends it, streamed or not: no
    /// translation, no streamed-usage rewrite, usage only as reported.
    pub fn passthrough(self) -> bool {
        matches!(
            self,
            Api::ImagesGenerations
                | Api::ImagesEdits
                | Api::AudioTranscriptions
                | Api::AudioTranslations
                | Api::AudioSpeech
                | Api::Moderations
                | Api::Rerank
                | Api::Files
                | Api::Batches
                | Api::CountTokens
        )
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OpenAI Chat Completions (and the rest of the OpenAI API).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini `generateContent` (AI Studio and Vertex AI).
    Gemini,
    /// AWS Bedrock Converse.
    Bedrock,
    /// OpenAI Responses: a client dialect, and what providers with the
    /// Responses API speak for such clients (see `Upstream::dialect_for`).
    Responses,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Gemini => "gemini",
            Dialect::Bedrock => "bedrock",
            Dialect::Responses => "responses",
        }
    }
}

/// How a credential is presented to the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `<header>: <token>`, e.g. Azure's `api-key`.
    Header(&'static str),
    /// `Authorization: <token>` with no scheme word.
    RawAuthorization,
    /// Self-hosted servers: no credential, or `Authorization: Bearer` if
    /// the provider is given a token.
    OptionalBearer,
}

/// One catalog entry.
#[derive(Clone, Copy, Debug)]
pub struct ProviderKind {
    /// The `type` users write in the config.
    pub name: &'static str,
    /// `scheme://host[:port]`, or `None` where the user must say where the
    /// server is (vllm, generic).
    pub origin: Option<&'static str>,
    /// The path every API suffix is appended to, e.g. `/v1`.
    pub base_path: &'static str,
    pub auth: AuthScheme,
    supported: u32,
    pub docs: &'static str,
    pub dialect: Dialect,
    /// Base path of the provider's own Anthropic-compatible endpoint, used
    /// untranslated for Claude clients (`{base}/v1/messages`).
    pub anthropic_base: Option<&'static str>,
}

impl ProviderKind {
    pub fn supports(&self, api: Api) -> bool {
        self.supported & api.bit() != 0
    }

    /// Whether a provider of this type is unusable without a token
    /// (Bedrock can sign with AWS keys instead; the config checks that).
    pub fn token_required(&self) -> bool {
        !matches!(self.auth, AuthScheme::OptionalBearer) && self.dialect != Dialect::Bedrock
    }
}

const CHAT: u32 = 1 << Api::ChatCompletions as u32;
const COMPL: u32 = 1 << Api::Completions as u32;
const EMB: u32 = 1 << Api::Embeddings as u32;
const MODELS: u32 = 1 << Api::Models as u32;
const ALL: u32 = CHAT | COMPL | EMB | MODELS;
const IMAGE_GEN: u32 = 1 << Api::ImagesGenerations as u32;
const IMAGE_EDIT: u32 = 1 << Api::ImagesEdits as u32;
const TRANSCRIBE: u32 = 1 << Api::AudioTranscriptions as u32;
const TRANSLATE: u32 = 1 << Api::AudioTranslations as u32;
const SPEECH: u32 = 1 << Api::AudioSpeech as u32;
const MODERATE: u32 = 1 << Api::Moderations as u32;
const RERANK: u32 = 1 << Api::Rerank as u32;
const FILES: u32 = 1 << Api::Files as u32;
const BATCHES: u32 = 1 << Api::Batches as u32;
const COUNT_TOKENS: u32 = 1 << Api::CountTokens as u32;
/// OpenAI's pass-through APIs (rerank is not OpenAI's).
const OPENAI_MEDIA: u32 =
    IMAGE_GEN | IMAGE_EDIT | TRANSCRIBE | TRANSLATE | SPEECH | MODERATE | FILES | BATCHES;
/// The Responses API, served natively (others are bridged through chat).
const RESP: u32 = 1 << Api::Responses as u32;

const fn kind(
    name: &'static str,
    origin: Option<&'static str>,
    base_path: &'static str,
    auth: AuthScheme,
    supported: u32,
    docs: &'static str,
) -> ProviderKind {
    ProviderKind {
        name,
        origin,
        base_path,
        auth,
        supported,
        docs,
        dialect: Dialect::OpenAi,
        anthropic_base: None,
    }
}

const fn with_anthropic(mut k: ProviderKind, base: &'static str) -> ProviderKind {
    k.anthropic_base = Some(base);
    k
}

const fn native(mut k: ProviderKind, dialect: Dialect) -> ProviderKind {
    k.dialect = dialect;
    k
}

use AuthScheme::*;

/// Every provider type the gateway knows, in alphabetical order.
pub static CATALOG: &[ProviderKind] = &[
    kind(
        "azure",
        None,
        "/openai",
        Header("api-key"),
        ALL | RESP | IMAGE_GEN | IMAGE_EDIT | TRANSCRIBE | TRANSLATE | SPEECH | FILES | BATCHES,
        "Azure OpenAI; needs azureServiceUrl",
    ),
    kind(
        "baidu",
        Some("https://qianfan.baidubce.com"),
        "/v2",
        Bearer,
        CHAT | EMB | MODELS | IMAGE_GEN,
        "Baidu Qianfan v2 (OpenAI-compatible)",
    ),
    native(
        kind(
            "bedrock",
            None,
            "",
            Bearer,
            CHAT,
            "AWS Bedrock Converse; awsRegion with awsAccessKey/awsSecretKey (SigV4) or Bedrock API keys in apiTokens",
        ),
        Dialect::Bedrock,
    ),
    native(
        kind(
            "claude",
            Some("https://api.anthropic.com"),
            "/v1",
            Header("x-api-key"),
            CHAT | COUNT_TOKENS,
            "Anthropic Claude (Messages API); claudeVersion",
        ),
        Dialect::Anthropic,
    ),
    with_anthropic(
        kind(
            "deepseek",
            Some("https://api.deepseek.com"),
            "/v1",
            Bearer,
            CHAT | COMPL | MODELS,
            "DeepSeek",
        ),
        "/anthropic",
    ),
    kind(
        "doubao",
        Some("https://ark.cn-beijing.volces.com"),
        "/api/v3",
        Bearer,
        CHAT | EMB | MODELS | IMAGE_GEN,
        "Volcengine Ark (Doubao)",
    ),
    kind(
        "fireworks",
        Some("https://api.fireworks.ai"),
        "/inference/v1",
        Bearer,
        ALL,
        "Fireworks AI",
    ),
    native(
        kind(
            "gemini",
            Some("https://generativelanguage.googleapis.com"),
            "/v1beta",
            Header("x-goog-api-key"),
            CHAT,
            "Google Gemini (AI Studio)",
        ),
        Dialect::Gemini,
    ),
    kind(
        "generic",
        None,
        "/v1",
        OptionalBearer,
        ALL | OPENAI_MEDIA | RERANK,
        "Any OpenAI-compatible server; needs baseUrl",
    ),
    kind(
        "grok",
        Some("https://api.x.ai"),
        "/v1",
        Bearer,
        ALL | IMAGE_GEN,
        "xAI Grok",
    ),
    kind(
        "groq",
        Some("https://api.groq.com"),
        "/openai/v1",
        Bearer,
        CHAT | MODELS | TRANSCRIBE | TRANSLATE | SPEECH | FILES | BATCHES,
        "Groq",
    ),
    kind(
        "minimax",
        Some("https://api.minimax.io"),
        "/v1",
        Bearer,
        CHAT | EMB,
        "MiniMax (OpenAI-compatible)",
    ),
    kind(
        "mistral",
        Some("https://api.mistral.ai"),
        "/v1",
        Bearer,
        CHAT | EMB | MODELS | MODERATE | FILES,
        "Mistral AI",
    ),
    with_anthropic(
        kind(
            "moonshot",
            Some("https://api.moonshot.cn"),
            "/v1",
            Bearer,
            CHAT | EMB | MODELS | FILES,
            "Moonshot (Kimi)",
        ),
        "/anthropic",
    ),
    kind(
        "ollama",
        Some("http://127.0.0.1:11434"),
        "/v1",
        OptionalBearer,
        ALL,
        "Ollama; ollamaServerHost/ollamaServerPort",
    ),
    kind(
        "openai",
        Some("https://api.openai.com"),
        "/v1",
        Bearer,
        ALL | RESP | OPENAI_MEDIA,
        "OpenAI; openaiCustomUrl for compatible servers",
    ),
    kind(
        "openrouter",
        Some("https://openrouter.ai"),
        "/api/v1",
        Bearer,
        CHAT | COMPL | MODELS,
        "OpenRouter",
    ),
    with_anthropic(
        kind(
            "qwen",
            Some("https://dashscope.aliyuncs.com"),
            "/compatible-mode/v1",
            Bearer,
            ALL | FILES | BATCHES,
            "Alibaba DashScope compatible mode; qwenDomain",
        ),
        "/apps/anthropic",
    ),
    kind(
        "together-ai",
        Some("https://api.together.xyz"),
        "/v1",
        Bearer,
        ALL | IMAGE_GEN | TRANSCRIBE | SPEECH | RERANK | FILES | BATCHES,
        "Together AI",
    ),
    native(
        kind(
            "vertex",
            None,
            "/v1",
            Header("x-goog-api-key"),
            CHAT,
            "Google Vertex AI Gemini; vertexRegion and vertexProjectId, express-mode API keys",
        ),
        Dialect::Gemini,
    ),
    kind(
        "vllm",
        None,
        "/v1",
        OptionalBearer,
        ALL | TRANSCRIBE | TRANSLATE | RERANK,
        "vLLM server; needs baseUrl",
    ),
    with_anthropic(
        kind(
            "zhipuai",
            Some("https://open.bigmodel.cn"),
            "/api/paas/v4",
            Bearer,
            CHAT | EMB | IMAGE_GEN | FILES | BATCHES,
            "Zhipu AI (GLM)",
        ),
        "/api/anthropic",
    ),
];

/// The catalog entry for a `type`.
pub fn lookup(name: &str) -> Option<&'static ProviderKind> {
    CATALOG.iter().find(|k| k.name == name)
}

/// Every known `type`, for error messages.
pub fn type_names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|k| k.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_unique() {
        let names: Vec<_> = type_names().collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn origins_are_urls() {
        for k in CATALOG {
            if let Some(o) = k.origin {
                assert!(
                    o.starts_with("https://") || o.starts_with("http://"),
                    "{}",
                    k.name
                );
                assert!(!o.ends_with('/'), "{}", k.name);
            }
            assert!(
                k.base_path.is_empty()
                    || (k.base_path.starts_with('/') && !k.base_path.ends_with('/'))
            );
            assert!(
                k.supports(Api::ChatCompletions),
                "{} must serve chat",
                k.name
            );
        }
    }

    #[test]
    fn api_bits_are_distinct_and_fit() {
        let mut seen = 0u32;
        for api in Api::ALL {
            assert_eq!(seen & api.bit(), 0, "{api:?}");
            seen |= api.bit();
        }
        assert_eq!(seen.count_ones() as usize, Api::ALL.len());
    }

    #[test]
    fn who_offers_the_pass_through_apis() {
        let has = |t: &str, api| lookup(t).unwrap().supports(api);
        for api in [
            Api::ImagesGenerations,
            Api::ImagesEdits,
            Api::AudioTranscriptions,
            Api::AudioTranslations,
            Api::AudioSpeech,
            Api::Moderations,
            Api::Files,
            Api::Batches,
        ] {
            assert!(has("openai", api), "{api:?}");
            assert!(has("generic", api), "{api:?}");
        }
        assert!(has("azure", Api::AudioTranscriptions) && !has("azure", Api::Moderations));
        assert!(has("together-ai", Api::Rerank) && has("vllm", Api::Rerank));
        assert!(!has("openai", Api::Rerank) && !has("deepseek", Api::ImagesGenerations));
        assert!(has("claude", Api::CountTokens) && !has("openai", Api::CountTokens));
        for k in CATALOG {
            // Native dialects offer chat only (and Anthropic counting).
            if k.dialect != Dialect::OpenAi {
                for api in Api::ALL {
                    assert!(
                        !k.supports(api) || matches!(api, Api::ChatCompletions | Api::CountTokens),
                        "{} {api:?}",
                        k.name
                    );
                }
            }
        }
    }
}
