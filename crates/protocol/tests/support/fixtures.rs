//! Hand-written wire bodies for the conformance suite: one rich client
//! request per ingress dialect, one rich answer and a few error bodies per
//! provider dialect, and the canonical event script the provider streams are
//! built from.
//!
//! The three client requests tell the same story (two photos, then two
//! parallel tool calls and their results) so that their goldens can be read
//! side by side; each is written the way that dialect's own SDKs send it.

use switchyard_protocol::canonical::{StopReason, StreamEvent, TokenUsage};

use super::Dialect;

/// A 1x1 PNG, the base64 image of every request.
pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// The URL image of every request (Bedrock cannot take it).
pub const IMAGE_URL: &str = "https://upload.example.com/photos/eiffel-tower.jpg";

/// An OpenAI Chat Completions request as the OpenAI SDKs send it.
/// `stream` adds `stream` and `stream_options.include_usage`.
pub fn openai_request(stream: bool) -> String {
    let stream = if stream {
        r#""stream": true, "stream_options": {"include_usage": true},"#
    } else {
        ""
    };
    format!(
        r#"{{
  "model": "gpt-4.1",
  {stream}
  "messages": [
    {{"role": "system", "content": "You are Switchyard's travel assistant. Answer in one short paragraph."}},
    {{"role": "user", "content": "Hi! I have two photos for you."}},
    {{"role": "assistant", "content": "Great, send them over."}},
    {{"role": "user", "content": [
      {{"type": "text", "text": "Where were these taken? And what is the weather in Paris and the time in Tokyo right now?"}},
      {{"type": "image_url", "image_url": {{"url": "{IMAGE_URL}", "detail": "high"}}}},
      {{"type": "image_url", "image_url": {{"url": "data:image/png;base64,{PNG_1X1}"}}}}
    ]}},
    {{"role": "assistant", "content": "Both photos show Paris. Let me check the weather and the time.", "tool_calls": [
      {{"id": "call_Wx7pQ2", "type": "function", "function": {{"name": "get_weather", "arguments": "{{\"city\": \"Paris\", \"unit\": \"celsius\"}}"}}}},
      {{"id": "call_Tm4kR9", "type": "function", "function": {{"name": "get_time", "arguments": "{{\"timezone\":\"Asia/Tokyo\"}}"}}}}
    ]}},
    {{"role": "tool", "tool_call_id": "call_Wx7pQ2", "content": "18°C, light rain"}},
    {{"role": "tool", "tool_call_id": "call_Tm4kR9", "content": "{{\"time\":\"21:04\",\"timezone\":\"Asia/Tokyo\"}}"}}
  ],
  "tools": [
    {{"type": "function", "function": {{
      "name": "get_weather",
      "description": "Current weather for a city.",
      "strict": true,
      "parameters": {{
        "type": "object",
        "properties": {{
          "city": {{"type": "string", "description": "City name, e.g. Paris"}},
          "unit": {{"type": "string", "enum": ["celsius", "fahrenheit"]}}
        }},
        "required": ["city", "unit"],
        "additionalProperties": false
      }}
    }}}},
    {{"type": "function", "function": {{
      "name": "get_time",
      "description": "Current local time in an IANA time zone.",
      "parameters": {{
        "type": "object",
        "properties": {{"timezone": {{"type": "string", "description": "IANA zone, e.g. Asia/Tokyo"}}}},
        "required": ["timezone"]
      }}
    }}}}
  ],
  "tool_choice": {{"type": "function", "function": {{"name": "get_weather"}}}},
  "parallel_tool_calls": true,
  "stop": ["END", "---"],
  "temperature": 0.7,
  "top_p": 0.9,
  "max_completion_tokens": 4096,
  "seed": 42,
  "user": "user-1234",
  "reasoning_effort": "low",
  "response_format": {{"type": "json_schema", "json_schema": {{
    "name": "trip_report",
    "strict": true,
    "schema": {{
      "type": "object",
      "properties": {{"city": {{"type": "string"}}, "summary": {{"type": "string"}}}},
      "required": ["city", "summary"],
      "additionalProperties": false
    }}
  }}}}
}}"#
    )
}

/// An Anthropic Messages request as the Anthropic SDKs send it.
pub fn anthropic_request(stream: bool) -> String {
    let stream = if stream { r#""stream": true,"# } else { "" };
    format!(
        r#"{{
  "model": "claude-sonnet-4-5",
  "max_tokens": 4096,
  {stream}
  "system": [
    {{"type": "text", "text": "You are Switchyard's travel assistant."}},
    {{"type": "text", "text": "Answer in one short paragraph.", "cache_control": {{"type": "ephemeral"}}}}
  ],
  "messages": [
    {{"role": "user", "content": "Hi! I have two photos for you."}},
    {{"role": "assistant", "content": [{{"type": "text", "text": "Great, send them over."}}]}},
    {{"role": "user", "content": [
      {{"type": "text", "text": "Where were these taken? And what is the weather in Paris and the time in Tokyo right now?"}},
      {{"type": "image", "source": {{"type": "url", "url": "{IMAGE_URL}"}}}},
      {{"type": "image", "source": {{"type": "base64", "media_type": "image/png", "data": "{PNG_1X1}"}}}}
    ]}},
    {{"role": "assistant", "content": [
      {{"type": "thinking", "thinking": "Both photos show the Eiffel Tower, so Paris. I need the weather in Paris and the time in Tokyo: two independent calls.", "signature": "EqQBCkgIBxABGAIqQAnthropicPriorTurnSignature0001+/=="}},
      {{"type": "text", "text": "Both photos show Paris. Let me check the weather and the time."}},
      {{"type": "tool_use", "id": "toolu_01Wx7pQ2", "name": "get_weather", "input": {{"city": "Paris", "unit": "celsius"}}}},
      {{"type": "tool_use", "id": "toolu_01Tm4kR9", "name": "get_time", "input": {{"timezone": "Asia/Tokyo"}}}}
    ]}},
    {{"role": "user", "content": [
      {{"type": "tool_result", "tool_use_id": "toolu_01Wx7pQ2", "content": "18°C, light rain"}},
      {{"type": "tool_result", "tool_use_id": "toolu_01Tm4kR9", "content": [{{"type": "text", "text": "{{\"time\":\"21:04\",\"timezone\":\"Asia/Tokyo\"}}"}}]}}
    ]}}
  ],
  "tools": [
    {{
      "name": "get_weather",
      "description": "Current weather for a city.",
      "input_schema": {{
        "type": "object",
        "properties": {{
          "city": {{"type": "string", "description": "City name, e.g. Paris"}},
          "unit": {{"type": "string", "enum": ["celsius", "fahrenheit"]}}
        }},
        "required": ["city", "unit"],
        "additionalProperties": false
      }}
    }},
    {{
      "name": "get_time",
      "description": "Current local time in an IANA time zone.",
      "input_schema": {{
        "type": "object",
        "properties": {{"timezone": {{"type": "string", "description": "IANA zone, e.g. Asia/Tokyo"}}}},
        "required": ["timezone"]
      }},
      "cache_control": {{"type": "ephemeral"}}
    }}
  ],
  "tool_choice": {{"type": "tool", "name": "get_weather"}},
  "stop_sequences": ["END", "---"],
  "temperature": 1.0,
  "top_p": 0.95,
  "thinking": {{"type": "enabled", "budget_tokens": 2048}},
  "metadata": {{"user_id": "user-1234"}},
  "output_config": {{"format": {{"type": "json_schema", "schema": {{
    "type": "object",
    "properties": {{"city": {{"type": "string"}}, "summary": {{"type": "string"}}}},
    "required": ["city", "summary"],
    "additionalProperties": false
  }}}}}}
}}"#
    )
}

/// The model in a Gemini client's URL (`/v1beta/models/{model}:generateContent`).
pub const GEMINI_PATH_MODEL: &str = "gemini-2.5-flash";

/// A `generateContent` body as the google-genai SDKs send it (the model and
/// streaming are in the URL). Function calls carry no ids, as Gemini 2.5
/// returns them; results are paired by name.
pub fn gemini_request() -> String {
    format!(
        r#"{{
  "systemInstruction": {{"parts": [{{"text": "You are Switchyard's travel assistant. Answer in one short paragraph."}}]}},
  "contents": [
    {{"role": "user", "parts": [{{"text": "Hi! I have two photos for you."}}]}},
    {{"role": "model", "parts": [{{"text": "Great, send them over."}}]}},
    {{"role": "user", "parts": [
      {{"text": "Where were these taken? And what is the weather in Paris and the time in Tokyo right now?"}},
      {{"fileData": {{"mimeType": "image/jpeg", "fileUri": "{IMAGE_URL}"}}}},
      {{"inlineData": {{"mimeType": "image/png", "data": "{PNG_1X1}"}}}}
    ]}},
    {{"role": "model", "parts": [
      {{"text": "Both photos show the Eiffel Tower, so Paris. I need the weather in Paris and the time in Tokyo: two independent calls.", "thought": true}},
      {{"functionCall": {{"name": "get_weather", "args": {{"city": "Paris", "unit": "celsius"}}}}, "thoughtSignature": "CiQBcsjafGeminiPriorTurnSignature0001+/=="}},
      {{"functionCall": {{"name": "get_time", "args": {{"timezone": "Asia/Tokyo"}}}}}}
    ]}},
    {{"role": "user", "parts": [
      {{"functionResponse": {{"name": "get_weather", "response": {{"content": "18°C, light rain"}}}}}},
      {{"functionResponse": {{"name": "get_time", "response": {{"time": "21:04", "timezone": "Asia/Tokyo"}}}}}}
    ]}}
  ],
  "tools": [{{"functionDeclarations": [
    {{
      "name": "get_weather",
      "description": "Current weather for a city.",
      "parameters": {{
        "type": "OBJECT",
        "properties": {{
          "city": {{"type": "STRING", "description": "City name, e.g. Paris"}},
          "unit": {{"type": "STRING", "enum": ["celsius", "fahrenheit"]}}
        }},
        "required": ["city", "unit"]
      }}
    }},
    {{
      "name": "get_time",
      "description": "Current local time in an IANA time zone.",
      "parametersJsonSchema": {{
        "type": "object",
        "properties": {{"timezone": {{"type": "string", "description": "IANA zone, e.g. Asia/Tokyo"}}}},
        "required": ["timezone"]
      }}
    }}
  ]}}],
  "toolConfig": {{"functionCallingConfig": {{"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}}},
  "safetySettings": [{{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}}],
  "generationConfig": {{
    "stopSequences": ["END", "---"],
    "temperature": 0.7,
    "topP": 0.9,
    "topK": 40,
    "maxOutputTokens": 4096,
    "responseMimeType": "application/json",
    "responseSchema": {{
      "type": "OBJECT",
      "properties": {{"city": {{"type": "STRING"}}, "summary": {{"type": "STRING"}}}},
      "required": ["city", "summary"]
    }},
    "thinkingConfig": {{"thinkingBudget": 2048, "includeThoughts": true}}
  }}
}}"#
    )
}

/// The client request body of `ingress`.
pub fn client_request(ingress: Dialect, stream: bool) -> String {
    match ingress {
        Dialect::OpenAi => openai_request(stream),
        Dialect::Anthropic => anthropic_request(stream),
        Dialect::Gemini => gemini_request(),
        Dialect::Bedrock => unreachable!("Bedrock is never an ingress dialect"),
    }
}

/// The model the gateway routes to for each provider (it overwrites the
/// canonical `model` before encoding, as `switchyard_gateway` does).
pub fn provider_model(provider: Dialect) -> &'static str {
    match provider {
        Dialect::OpenAi => "o4-mini",
        Dialect::Anthropic => "claude-sonnet-4-5",
        Dialect::Gemini => "gemini-2.5-flash",
        Dialect::Bedrock => "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    }
}

// ---------------------------------------------------------------------------
// Provider answers (non-streamed).

/// Every answer: some reasoning, a sentence, two parallel tool calls.
pub const ANSWER_TEXT: &str = "Checking the weather in Paris and the time in Tokyo.";

/// An OpenAI-style chat completion. Chat Completions has no signed reasoning:
/// reasoning comes as `reasoning_content` (DeepSeek, Qwen, OpenRouter).
pub const OPENAI_RESPONSE: &str = r#"{
  "id": "chatcmpl-CkX9aConformance01",
  "object": "chat.completion",
  "created": 1735689600,
  "model": "o4-mini-2025-04-16",
  "choices": [{
    "index": 0,
    "message": {
      "role": "assistant",
      "content": "Checking the weather in Paris and the time in Tokyo.",
      "reasoning_content": "The user wants two independent facts; call both tools in parallel.",
      "refusal": null,
      "annotations": [],
      "tool_calls": [
        {"id": "call_Wx7pQ2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"unit\":\"celsius\"}"}},
        {"id": "call_Tm4kR9", "type": "function", "function": {"name": "get_time", "arguments": "{\"timezone\":\"Asia/Tokyo\"}"}}
      ]
    },
    "logprobs": null,
    "finish_reason": "tool_calls"
  }],
  "usage": {
    "prompt_tokens": 1250,
    "completion_tokens": 380,
    "total_tokens": 1630,
    "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 120, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_conformance"
}"#;

/// An Anthropic message. Anthropic usage has no reasoning-token count.
pub const ANTHROPIC_RESPONSE: &str = r#"{
  "id": "msg_01ConformanceAnthropic",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [
    {"type": "thinking", "thinking": "The user wants two independent facts; call both tools in parallel.", "signature": "EqQBCkgIBxABGAIqQAnthropicAnswerSignature0001+/=="},
    {"type": "text", "text": "Checking the weather in Paris and the time in Tokyo."},
    {"type": "tool_use", "id": "toolu_01Wx7pQ2", "name": "get_weather", "input": {"city": "Paris", "unit": "celsius"}},
    {"type": "tool_use", "id": "toolu_01Tm4kR9", "name": "get_time", "input": {"timezone": "Asia/Tokyo"}}
  ],
  "stop_reason": "tool_use",
  "stop_sequence": null,
  "usage": {
    "input_tokens": 200,
    "cache_creation_input_tokens": 50,
    "cache_read_input_tokens": 1000,
    "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 380,
    "service_tier": "standard"
  }
}"#;

/// A Gemini answer: thought summary, text, then the function calls, the
/// first carrying the thought signature (as Gemini 2.5 does); no call ids.
pub const GEMINI_RESPONSE: &str = r#"{
  "candidates": [{
    "content": {
      "role": "model",
      "parts": [
        {"text": "The user wants two independent facts; call both tools in parallel.", "thought": true},
        {"text": "Checking the weather in Paris and the time in Tokyo."},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}}, "thoughtSignature": "CiQBcsjafGeminiAnswerSignature0001+/=="},
        {"functionCall": {"name": "get_time", "args": {"timezone": "Asia/Tokyo"}}}
      ]
    },
    "finishReason": "STOP",
    "index": 0
  }],
  "usageMetadata": {
    "promptTokenCount": 1250,
    "candidatesTokenCount": 260,
    "cachedContentTokenCount": 1000,
    "thoughtsTokenCount": 120,
    "totalTokenCount": 1630,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1250}]
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": "gQxbaConformanceGemini"
}"#;

/// A Converse answer: no id, model or timestamp; `totalTokens` counts the
/// cache reads and writes too.
pub const BEDROCK_RESPONSE: &str = r#"{
  "output": {"message": {"role": "assistant", "content": [
    {"reasoningContent": {"reasoningText": {"text": "The user wants two independent facts; call both tools in parallel.", "signature": "EqQBCkgIBxABGAIqQBedrockAnswerSignature0001+/=="}}},
    {"text": "Checking the weather in Paris and the time in Tokyo."},
    {"toolUse": {"toolUseId": "tooluse_Wx7pQ2", "name": "get_weather", "input": {"city": "Paris", "unit": "celsius"}}},
    {"toolUse": {"toolUseId": "tooluse_Tm4kR9", "name": "get_time", "input": {"timezone": "Asia/Tokyo"}}}
  ]}},
  "stopReason": "tool_use",
  "usage": {"inputTokens": 200, "outputTokens": 380, "totalTokens": 1630, "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 50},
  "metrics": {"latencyMs": 1834}
}"#;

pub fn provider_response(provider: Dialect) -> &'static str {
    match provider {
        Dialect::OpenAi => OPENAI_RESPONSE,
        Dialect::Anthropic => ANTHROPIC_RESPONSE,
        Dialect::Gemini => GEMINI_RESPONSE,
        Dialect::Bedrock => BEDROCK_RESPONSE,
    }
}

// ---------------------------------------------------------------------------
// Provider error bodies.

/// `(HTTP status, body)` of an authentication failure, a rate limit and a
/// server-side failure, as each provider sends them.
pub fn provider_errors(provider: Dialect) -> Vec<(u16, &'static str)> {
    match provider {
        Dialect::OpenAi => vec![
            (
                401,
                r#"{"error": {"message": "Incorrect API key provided: sk-proj-****abcd. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}"#,
            ),
            (
                429,
                r#"{"error": {"message": "Rate limit reached for o4-mini in organization org-conformance on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}"#,
            ),
            (
                500,
                r#"{"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": null, "code": null}}"#,
            ),
        ],
        Dialect::Anthropic => vec![
            (
                401,
                r#"{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}, "request_id": "req_011Conformance401"}"#,
            ),
            (
                429,
                r#"{"type": "error", "error": {"type": "rate_limit_error", "message": "This request would exceed the rate limit for your organization of 50 requests per minute."}, "request_id": "req_011Conformance429"}"#,
            ),
            (
                529,
                r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_011Conformance529"}"#,
            ),
        ],
        Dialect::Gemini => vec![
            (
                401,
                r#"{"error": {"code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "status": "UNAUTHENTICATED"}}"#,
            ),
            (
                429,
                r#"{"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}]}}"#,
            ),
            (
                500,
                r#"{"error": {"code": 500, "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "status": "INTERNAL"}}"#,
            ),
        ],
        // Bedrock has no 401: bad or expired credentials are a 403 whose
        // `x-amzn-ErrorType` names the exception (here also in `__type`).
        Dialect::Bedrock => vec![
            (
                403,
                r#"{"message": "The security token included in the request is invalid.", "__type": "com.amazon.coral.service#UnrecognizedClientException"}"#,
            ),
            (
                429,
                r#"{"message": "Too many requests, please wait before trying again."}"#,
            ),
            (
                500,
                r#"{"message": "The server encountered an internal error while processing the request."}"#,
            ),
        ],
    }
}

// ---------------------------------------------------------------------------
// The stream script.

pub const SCRIPT_ID: &str = "gen-01JConformanceStream";
pub const SCRIPT_MODEL: &str = "switchyard-conformance-1";
/// 2025-01-01T00:00:00Z.
pub const SCRIPT_CREATED: u64 = 1_735_689_600;
pub const SCRIPT_THINKING: &str = "The user wants two independent facts; call both tools.";
pub const SCRIPT_SIGNATURE: &str = "EqQBCkgIBxABGAIqQScriptSignature0001+/==";
pub const SCRIPT_TEXT: &str = "Checking both now.";

pub const START_USAGE: TokenUsage = TokenUsage {
    input_tokens: 1250,
    output_tokens: 1,
    cached_tokens: 1000,
    cache_creation_tokens: 50,
    reasoning_tokens: 0,
};

pub const FINAL_USAGE: TokenUsage = TokenUsage {
    input_tokens: 1250,
    output_tokens: 380,
    cached_tokens: 1000,
    cache_creation_tokens: 50,
    reasoning_tokens: 120,
};

/// The two calls of the script: `(id, name, argument fragments)`.
pub const SCRIPT_CALLS: [(&str, &str, &[&str]); 2] = [
    (
        "call_Wx7pQ2",
        "get_weather",
        &["{\"city\":", " \"Par", "is\", \"unit\"", ": \"celsius\"}"],
    ),
    (
        "call_Tm4kR9",
        "get_time",
        &["{\"timez", "one\":\"Asia/Tokyo\"}"],
    ),
];

/// Start, thinking and its signature, text, two tool calls with fragmented
/// arguments, finish, usage.
pub fn stream_script() -> Vec<StreamEvent> {
    let mut s = vec![
        StreamEvent::Start {
            id: SCRIPT_ID.into(),
            model: SCRIPT_MODEL.into(),
            created: SCRIPT_CREATED,
            usage: START_USAGE,
        },
        StreamEvent::ThinkingDelta {
            text: "The user wants two independent facts;".into(),
        },
        StreamEvent::ThinkingDelta {
            text: " call both tools.".into(),
        },
        StreamEvent::ThinkingSignature {
            signature: SCRIPT_SIGNATURE.into(),
        },
        StreamEvent::TextDelta {
            text: "Checking ".into(),
        },
        StreamEvent::TextDelta {
            text: "both now.".into(),
        },
    ];
    for (index, (id, name, fragments)) in (0u32..).zip(SCRIPT_CALLS) {
        s.push(StreamEvent::ToolCallStart {
            index,
            id: id.into(),
            name: name.into(),
        });
        for f in fragments {
            s.push(StreamEvent::ToolCallDelta {
                index,
                arguments: (*f).into(),
            });
        }
    }
    s.push(StreamEvent::Finish {
        reason: StopReason::ToolCalls,
    });
    s.push(StreamEvent::Usage { usage: FINAL_USAGE });
    s
}
