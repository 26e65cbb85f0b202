use super::*;
use crate::lookup;

fn ep(t: &str, o: EndpointOptions<'_>) -> Result<Endpoint, EndpointError> {
    Endpoint::build(lookup(t).unwrap(), &o)
}

fn url(e: &Endpoint, api: Api, model: &str) -> String {
    e.uri(api, model).unwrap().to_string()
}

#[test]
fn catalog_defaults() {
    let e = ep("qwen", Default::default()).unwrap();
    assert_eq!(
        url(&e, Api::ChatCompletions, "qwen-max"),
        "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
    );
    let e = ep("ollama", Default::default()).unwrap();
    assert_eq!(
        url(&e, Api::Embeddings, "m"),
        "http://127.0.0.1:11434/v1/embeddings"
    );
}

#[test]
fn base_url_with_and_without_path() {
    let e = ep(
        "deepseek",
        EndpointOptions {
            base_url: Some("http://127.0.0.1:9001"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::ChatCompletions, "m"),
        "http://127.0.0.1:9001/v1/chat/completions"
    );
    let e = ep(
        "groq",
        EndpointOptions {
            base_url: Some("http://127.0.0.1:9001/proxy/"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::ChatCompletions, "m"),
        "http://127.0.0.1:9001/proxy/chat/completions"
    );
}

#[test]
fn domain_and_base_path_overrides() {
    let e = ep(
        "openai",
        EndpointOptions {
            provider_domain: Some("oai.example.com"),
            provider_base_path: Some("/gw"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::Models, ""),
        "https://oai.example.com/gw/v1/models"
    );
    let e = ep(
        "qwen",
        EndpointOptions {
            qwen_domain: Some("dashscope-intl.aliyuncs.com"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(e.authority(), "dashscope-intl.aliyuncs.com");
    let e = ep(
        "ollama",
        EndpointOptions {
            ollama_server_host: Some("gpu-box"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::ChatCompletions, "m"),
        "http://gpu-box:11434/v1/chat/completions"
    );
}

#[test]
fn openai_custom_url() {
    let e = ep(
        "openai",
        EndpointOptions {
            openai_custom_url: Some("http://10.0.0.1:8000/myai/v1/chat/completions"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::Embeddings, "m"),
        "http://10.0.0.1:8000/myai/v1/embeddings"
    );
}

#[test]
fn azure_shapes() {
    let e = ep("azure", EndpointOptions {
        azure_service_url: Some("https://res.openai.azure.com/openai/deployments/gpt4/chat/completions?api-version=2024-02-01"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        url(&e, Api::Embeddings, "ignored"),
        "https://res.openai.azure.com/openai/deployments/gpt4/embeddings?api-version=2024-02-01"
    );
    // Responses: not per deployment, and a version that has it.
    assert_eq!(
        url(&e, Api::Responses, "ignored"),
        "https://res.openai.azure.com/openai/responses?api-version=2025-03-01-preview"
    );
    let e = ep(
        "azure",
        EndpointOptions {
            azure_service_url: Some("http://127.0.0.1:9/?api-version=v"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::ChatCompletions, "my dep"),
        "http://127.0.0.1:9/openai/deployments/my%20dep/chat/completions?api-version=v"
    );
    assert_eq!(
        url(&e, Api::Models, ""),
        "http://127.0.0.1:9/openai/models?api-version=v"
    );
    let e = ep(
        "azure",
        EndpointOptions {
            azure_service_url: Some("https://r.openai.azure.com/openai/v1/"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::ChatCompletions, "m"),
        "https://r.openai.azure.com/openai/v1/chat/completions"
    );
    assert_eq!(
        url(&e, Api::Responses, "m"),
        "https://r.openai.azure.com/openai/v1/responses"
    );
    assert_eq!(
        ep("azure", Default::default()).unwrap_err().field,
        "azureServiceUrl"
    );
}

#[test]
fn native_dialect_paths() {
    let e = ep("claude", Default::default()).unwrap();
    assert_eq!(
        e.chat_uri("claude-sonnet-4", true).unwrap().to_string(),
        "https://api.anthropic.com/v1/messages"
    );
    let e = ep("gemini", Default::default()).unwrap();
    assert_eq!(
        e.chat_uri("gemini-2.5-flash", true).unwrap().to_string(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    let e = ep(
        "bedrock",
        EndpointOptions {
            aws_region: Some("us-west-2"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        e.chat_uri("anthropic.claude-3-5-sonnet-20240620-v1:0", false)
            .unwrap()
            .to_string(),
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    assert_eq!(
        ep("bedrock", Default::default()).unwrap_err().field,
        "awsRegion"
    );
    let e = ep(
        "vertex",
        EndpointOptions {
            vertex_project_id: Some("p1"),
            vertex_region: Some("europe-west4"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        e.chat_uri("gemini-2.5-pro", false).unwrap().to_string(),
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/p1/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent"
    );
    let e = ep("vertex", Default::default()).unwrap();
    assert_eq!(
        e.chat_uri("g", false).unwrap().to_string(),
        "https://aiplatform.googleapis.com/v1/publishers/google/models/g:generateContent"
    );
    let e = ep(
        "gemini",
        EndpointOptions {
            base_url: Some("http://127.0.0.1:9"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        e.chat_uri("g", false).unwrap().to_string(),
        "http://127.0.0.1:9/v1beta/models/g:generateContent"
    );
}

#[test]
fn anthropic_compatible_endpoints() {
    let e = ep("deepseek", Default::default()).unwrap();
    assert_eq!(
        e.messages_uri().unwrap().to_string(),
        "https://api.deepseek.com/anthropic/v1/messages"
    );
    let e = ep(
        "zhipuai",
        EndpointOptions {
            base_url: Some("http://127.0.0.1:9"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        e.messages_uri().unwrap().to_string(),
        "http://127.0.0.1:9/api/anthropic/v1/messages"
    );
    assert!(
        ep("openai", Default::default())
            .unwrap()
            .messages_uri()
            .is_none()
    );
}

#[test]
fn pass_through_api_paths() {
    let e = ep("openai", Default::default()).unwrap();
    assert_eq!(
        url(&e, Api::AudioTranscriptions, "whisper-1"),
        "https://api.openai.com/v1/audio/transcriptions"
    );
    assert_eq!(
        e.uri_with(Api::Files, "", "/file-1/content", None)
            .unwrap()
            .to_string(),
        "https://api.openai.com/v1/files/file-1/content"
    );
    assert_eq!(
        e.uri_with(Api::Batches, "", "", Some("limit=2"))
            .unwrap()
            .to_string(),
        "https://api.openai.com/v1/batches?limit=2"
    );
    let e = ep(
        "azure",
        EndpointOptions {
            azure_service_url: Some("https://r.openai.azure.com/?api-version=v"),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        url(&e, Api::ImagesGenerations, "dalle"),
        "https://r.openai.azure.com/openai/deployments/dalle/images/generations?api-version=v"
    );
    assert_eq!(
        e.uri_with(Api::Files, "", "/f1", Some("purpose=batch"))
            .unwrap()
            .to_string(),
        "https://r.openai.azure.com/openai/files/f1?api-version=v&purpose=batch"
    );
    let e = ep("claude", Default::default()).unwrap();
    assert_eq!(
        url(&e, Api::CountTokens, "claude-x"),
        "https://api.anthropic.com/v1/messages/count_tokens"
    );
}

#[test]
fn bad_values() {
    assert_eq!(ep("vllm", Default::default()).unwrap_err().field, "baseUrl");
    assert_eq!(
        ep(
            "openai",
            EndpointOptions {
                base_url: Some("ftp://x"),
                ..Default::default()
            }
        )
        .unwrap_err()
        .field,
        "baseUrl"
    );
    assert_eq!(
        ep(
            "openai",
            EndpointOptions {
                base_url: Some("api.openai.com"),
                ..Default::default()
            }
        )
        .unwrap_err()
        .field,
        "baseUrl"
    );
    assert_eq!(
        ep(
            "openai",
            EndpointOptions {
                provider_domain: Some("a/b"),
                ..Default::default()
            }
        )
        .unwrap_err()
        .field,
        "providerDomain"
    );
}
