//! Counting for a model outside the OpenAI families must not load a BPE
//! table (7 MB of memory for `o200k_base`).
//!
//! This file holds one test on purpose: the tables are per process, and
//! tests in one file run on threads of one process, so another test here
//! that counts for an OpenAI model could load a table under this one.

use switchyard_protocol::canonical::{ChatRequest, ImageSource, Message, Part, Role, Tool};
use switchyard_tokens::{
    Encoding, Method, OutputCounter, count_prompt, count_prompt_json, count_text, estimate_prompt,
    is_loaded, method_for,
};

fn nothing_loaded() -> bool {
    !is_loaded(Encoding::O200kBase) && !is_loaded(Encoding::Cl100kBase)
}

#[test]
fn approximate_models_load_no_table() {
    assert!(nothing_loaded(), "a table was loaded before any count");
    let req = ChatRequest {
        system: vec!["You are terse.".into()],
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    Part::Text {
                        text: "Weather in 東京? ".repeat(50),
                    },
                    Part::Image {
                        source: ImageSource::Url {
                            url: "https://example.com/a.png".into(),
                        },
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![Part::ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Tokyo"}"#.into(),
                }],
            },
        ],
        tools: vec![Tool {
            name: "get_weather".into(),
            description: Some("Current weather.".into()),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {"city": {"type": "string", "enum": ["Tokyo", "Paris"]}},
            }),
        }],
        ..Default::default()
    };
    let models = [
        "claude-sonnet-4-5",
        "anthropic/claude-3-opus",
        "gemini-2.5-pro",
        "llama-3.3-70b-versatile",
        "qwen3-235b",
        "deepseek-chat",
        "m-17",
        "gpt-4.2",
        "",
    ];
    for model in models {
        assert_eq!(method_for(model), Method::Approximate, "{model}");
        assert!(count_text(model, "hello world, こんにちは") > 0);
        assert!(count_prompt(model, &req) > 0);
        let body = br#"{"prompt":"hello","suffix":" world","input":["a",[1,2]]}"#;
        assert!(count_prompt_json(model, "completions", body).is_some());
        assert!(count_prompt_json(model, "embeddings", body).is_some());
        let mut counter = OutputCounter::new(model);
        counter.push_text("streamed ");
        counter.push_text(&"text ".repeat(2000));
        assert!(counter.finish() > 0);
        assert!(nothing_loaded(), "counting for {model:?} loaded a table");
    }
    // A reservation's estimate is the approximate count whatever the model:
    // no table is loaded on the request path, even for OpenAI models.
    assert_eq!(estimate_prompt(&req), count_prompt("", &req));
    assert!(nothing_loaded(), "the estimate loaded a table");

    // The probe sees a load when there is one.
    assert_eq!(count_text("gpt-4o", "hello world"), 2);
    assert!(is_loaded(Encoding::O200kBase));
    assert!(!is_loaded(Encoding::Cl100kBase));
}
