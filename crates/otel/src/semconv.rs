//! Attribute keys and values from the OpenTelemetry semantic conventions
//! that the gateway records.
//!
//! The `gen_ai.*` conventions are still "Development" status. As of
//! semantic conventions v1.37, `gen_ai.system` is deprecated in favour of
//! `gen_ai.provider.name` (same values, some renamed, e.g. `gcp.gemini`);
//! both keys are here so the gateway can choose, and instrumentations that
//! emitted v1.36 conventions are asked to keep doing so unless
//! `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental` is set.
//! `server.*`, `http.*`, `url.*` and `error.type` are stable.

/// The GenAI provider, e.g. `openai` (deprecated since v1.37: use
/// [`GEN_AI_PROVIDER_NAME`]).
pub const GEN_AI_SYSTEM: &str = "gen_ai.system";
/// The GenAI provider, e.g. `openai`, `anthropic`, `aws.bedrock`,
/// `gcp.gemini` (replaces [`GEN_AI_SYSTEM`]).
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// The operation: one of the `OPERATION_*` values.
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// The model the request asked for.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// The model that answered, as reported by the response.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// Input (prompt) tokens; int.
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// Output (completion) tokens; int.
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// One finish reason per choice; string array, e.g. `["stop"]`.
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// The provider's id of the completion, e.g. `chatcmpl-123`.
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";

/// Host name or address of the server called (upstream, on CLIENT spans).
pub const SERVER_ADDRESS: &str = "server.address";
/// Port of the server called; int.
pub const SERVER_PORT: &str = "server.port";
/// HTTP method, e.g. `POST`.
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
/// HTTP response status code; int.
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
/// The path of the request URL, e.g. `/v1/chat/completions`.
pub const URL_PATH: &str = "url.path";
/// A low-cardinality class of the error the operation ended with, e.g.
/// `timeout` or the HTTP status code; set only on failure.
pub const ERROR_TYPE: &str = "error.type";

/// `gen_ai.operation.name` for chat completions / messages.
pub const OPERATION_CHAT: &str = "chat";
/// `gen_ai.operation.name` for legacy text completions.
pub const OPERATION_TEXT_COMPLETION: &str = "text_completion";
/// `gen_ai.operation.name` for Gemini-style `generateContent`.
pub const OPERATION_GENERATE_CONTENT: &str = "generate_content";
/// `gen_ai.operation.name` for embeddings.
pub const OPERATION_EMBEDDINGS: &str = "embeddings";

/// `error.type` when no more specific class applies.
pub const ERROR_TYPE_OTHER: &str = "_OTHER";

/// The GenAI span name `"{gen_ai.operation.name} {gen_ai.request.model}"`,
/// or just the operation when the model is unknown.
pub fn span_name(operation: &str, model: &str) -> String {
    if model.is_empty() {
        operation.to_owned()
    } else {
        format!("{operation} {model}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_name_follows_the_genai_convention() {
        assert_eq!(span_name(OPERATION_CHAT, "gpt-4o"), "chat gpt-4o");
        assert_eq!(span_name(OPERATION_EMBEDDINGS, ""), "embeddings");
    }
}
