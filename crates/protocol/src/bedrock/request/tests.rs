//! Tests of Converse request encoding and decoding.

use serde_json::{Value, json};

use super::{decode_request, encode_request};
use crate::canonical::{
    ChatRequest, ImageSource, Message, Part, Reasoning, Role, Tool, ToolChoice,
};

fn body(req: &ChatRequest) -> Value {
    serde_json::from_slice(&encode_request(req).unwrap()).unwrap()
}

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![Part::Text { text: text.into() }],
    }
}

#[test]
fn image_url_is_refused_data_url_is_inlined() {
    let mut req = ChatRequest {
        messages: vec![Message {
            role: Role::User,
            content: vec![Part::Image {
                source: ImageSource::Url {
                    url: "https://example.com/cat.png".into(),
                },
            }],
        }],
        ..ChatRequest::default()
    };
    let e = encode_request(&req).unwrap_err();
    assert_eq!(e.path, "messages[0].content[0]");
    assert!(e.message.contains("cannot be expressed"), "{e}");

    req.messages[0].content[0] = Part::Image {
        source: ImageSource::Url {
            url: "data:image/jpeg;base64,AAAA".into(),
        },
    };
    assert_eq!(
        body(&req)["messages"][0]["content"][0],
        json!({"image": {"format": "jpeg", "source": {"bytes": "AAAA"}}})
    );

    req.messages[0].content[0] = Part::Image {
        source: ImageSource::Base64 {
            media_type: "image/tiff".into(),
            data: "AAAA".into(),
        },
    };
    assert!(encode_request(&req).is_err());
}

#[test]
fn tool_results_become_user_messages_and_roles_merge() {
    let req = ChatRequest {
        messages: vec![
            user("weather?"),
            Message {
                role: Role::Assistant,
                content: vec![Part::ToolCall {
                    id: "t1".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Paris"}"#.into(),
                }],
            },
            Message {
                role: Role::Tool,
                content: vec![Part::ToolResult {
                    tool_call_id: "t1".into(),
                    name: Some("get_weather".into()),
                    content: vec![Part::Text {
                        text: "sunny".into(),
                    }],
                    is_error: false,
                }],
            },
            user("and tomorrow?"),
        ],
        ..ChatRequest::default()
    };
    let b = body(&req);
    assert_eq!(
        b["messages"],
        json!([
            {"role": "user", "content": [{"text": "weather?"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}},
                {"text": "and tomorrow?"}
            ]}
        ])
    );
    // Decoding splits the merged message again and names the result.
    assert_eq!(decode_request(&encode_request(&req).unwrap()).unwrap(), req);
}

#[test]
fn invalid_tool_arguments_are_an_error_empty_ones_an_empty_object() {
    let mut req = ChatRequest {
        messages: vec![Message {
            role: Role::Assistant,
            content: vec![Part::ToolCall {
                id: "t".into(),
                name: "f".into(),
                arguments: "{\"a\":".into(),
            }],
        }],
        ..ChatRequest::default()
    };
    assert!(encode_request(&req).unwrap_err().message.contains("JSON"));
    req.messages[0].content[0] = Part::ToolCall {
        id: "t".into(),
        name: "f".into(),
        arguments: String::new(),
    };
    assert_eq!(
        body(&req)["messages"][0]["content"][0]["toolUse"]["input"],
        json!({})
    );
}

#[test]
fn sampling_tools_and_model_fields() {
    let req = ChatRequest {
        model: "anthropic.claude-sonnet-4-v1:0".into(),
        system: vec!["be brief".into()],
        messages: vec![user("hi")],
        max_tokens: Some(2000),
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(40),
        stop: vec!["END".into()],
        stream: true,
        tools: vec![Tool {
            name: "f".into(),
            description: Some("does f".into()),
            parameters: json!({"type": "object", "properties": {}}),
        }],
        tool_choice: Some(ToolChoice::Tool("f".into())),
        reasoning: Some(Reasoning {
            effort: Some("low".into()),
            budget_tokens: None,
        }),
        ..ChatRequest::default()
    };
    let b = body(&req);
    assert_eq!(b.get("modelId"), None);
    assert_eq!(b["system"], json!([{"text": "be brief"}]));
    assert_eq!(
        b["inferenceConfig"],
        json!({"maxTokens": 2000, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]})
    );
    assert_eq!(
        b["toolConfig"],
        json!({
            "tools": [{"toolSpec": {"name": "f", "description": "does f", "inputSchema": {"json": {"type": "object", "properties": {}}}}}],
            "toolChoice": {"tool": {"name": "f"}}
        })
    );
    // The forced tool wins over thinking, which Claude refuses with it;
    // the sampling fields then stay.
    assert_eq!(b["additionalModelRequestFields"], json!({"top_k": 40}));

    let back = decode_request(&encode_request(&req).unwrap()).unwrap();
    assert_eq!(back.top_k, Some(40));
    assert_eq!(back.reasoning, None);
    assert_eq!(back.tool_choice, Some(ToolChoice::Tool("f".into())));
    assert_eq!(back.model, "");

    // With the choice left to the model, thinking is on, and the
    // sampling Claude refuses with it is dropped.
    let auto = ChatRequest {
        tool_choice: Some(ToolChoice::Auto),
        ..req.clone()
    };
    let b = body(&auto);
    assert_eq!(
        b["inferenceConfig"],
        json!({"maxTokens": 2000, "stopSequences": ["END"]})
    );
    // Claude wants budget < maxTokens: 2048 against 2000 is lowered.
    assert_eq!(
        b["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 1999}})
    );
    assert_eq!(b["toolConfig"]["toolChoice"], json!({"auto": {}}));
    let back = decode_request(&encode_request(&auto).unwrap()).unwrap();
    assert_eq!(back.reasoning.and_then(|r| r.budget_tokens), Some(1999));

    // Sampling values Claude accepts with thinking are kept.
    let ok = ChatRequest {
        temperature: Some(1.0),
        top_p: Some(0.95),
        tool_choice: None,
        ..req
    };
    let b = body(&ok);
    assert_eq!(b["inferenceConfig"]["temperature"], json!(1.0));
    assert_eq!(b["inferenceConfig"]["topP"], json!(0.95));
    assert!(b["additionalModelRequestFields"].get("thinking").is_some());
    assert_eq!(b["additionalModelRequestFields"].get("top_k"), None);

    // Required forces a tool too.
    let required = ChatRequest {
        tool_choice: Some(ToolChoice::Required),
        ..ok
    };
    let b = body(&required);
    assert_eq!(b["additionalModelRequestFields"].get("thinking"), None);
    // Without tools nothing is forced (and no toolConfig is sent).
    let no_tools = ChatRequest {
        tools: vec![],
        ..required
    };
    assert!(
        body(&no_tools)["additionalModelRequestFields"]
            .get("thinking")
            .is_some()
    );
}

/// Thinking in a tool loop: Claude wants the assistant turn that the
/// trailing tool results answer to open with its signed reasoning.
#[test]
fn thinking_in_a_tool_loop_needs_a_leading_signed_reasoning_block() {
    let call = Part::ToolCall {
        id: "t1".into(),
        name: "f".into(),
        arguments: "{}".into(),
    };
    let result = Message {
        role: Role::Tool,
        content: vec![Part::ToolResult {
            tool_call_id: "t1".into(),
            name: Some("f".into()),
            content: vec![Part::Text { text: "ok".into() }],
            is_error: false,
        }],
    };
    let with_turn = |turn: Vec<Part>, tail: Vec<Message>| {
        let mut messages = vec![
            user("q"),
            Message {
                role: Role::Assistant,
                content: turn,
            },
        ];
        messages.extend(tail);
        let req = ChatRequest {
            messages,
            tools: vec![Tool {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object"}),
            }],
            reasoning: Some(Reasoning {
                effort: None,
                budget_tokens: Some(2048),
            }),
            ..ChatRequest::default()
        };
        body(&req)["additionalModelRequestFields"]
            .get("thinking")
            .is_some()
    };
    let signed = Part::Thinking {
        text: "hmm".into(),
        signature: Some("sig".into()),
    };
    let unsigned = Part::Thinking {
        text: "hmm".into(),
        signature: None,
    };
    let redacted = Part::RedactedThinking {
        data: "AAAA".into(),
    };
    let text = Part::Text {
        text: "let me see".into(),
    };
    let tail = || vec![result.clone()];
    // No reasoning block, or not first, or unsigned: off.
    assert!(!with_turn(vec![call.clone()], tail()));
    assert!(!with_turn(vec![text.clone(), call.clone()], tail()));
    assert!(!with_turn(
        vec![text.clone(), signed.clone(), call.clone()],
        tail()
    ));
    assert!(!with_turn(vec![unsigned, call.clone()], tail()));
    // Signed or redacted reasoning first: on.
    assert!(with_turn(vec![signed.clone(), call.clone()], tail()));
    assert!(with_turn(vec![redacted, call.clone()], tail()));
    // Results followed by a new question still continue the loop.
    assert!(!with_turn(
        vec![call.clone()],
        vec![result.clone(), user("and?")]
    ));
    // Not in a tool loop (the conversation ends with a question): on.
    assert!(with_turn(vec![text], vec![user("and?")]));
    assert!(with_turn(
        vec![call],
        vec![
            result.clone(),
            Message {
                role: Role::Assistant,
                content: vec![Part::Text {
                    text: "done".into()
                }],
            },
            user("thanks")
        ]
    ));
}

#[test]
fn tool_choice_mapping() {
    let mut req = ChatRequest {
        messages: vec![user("hi")],
        tools: vec![Tool {
            name: "f".into(),
            description: None,
            parameters: json!({"type": "object"}),
        }],
        ..ChatRequest::default()
    };
    for (choice, wire) in [
        (Some(ToolChoice::Auto), Some(json!({"auto": {}}))),
        (Some(ToolChoice::Required), Some(json!({"any": {}}))),
        (Some(ToolChoice::None), None),
        (None, None),
    ] {
        req.tool_choice = choice;
        let b = body(&req);
        assert_eq!(b["toolConfig"]["tools"][0]["toolSpec"]["name"], "f");
        assert_eq!(b["toolConfig"].get("toolChoice").cloned(), wire);
    }
    // No tools: no toolConfig at all, whatever the choice.
    req.tools.clear();
    req.tool_choice = Some(ToolChoice::Required);
    assert_eq!(body(&req).get("toolConfig"), None);
}

#[test]
fn thinking_and_error_results_round_trip() {
    let req = ChatRequest {
        messages: vec![
            user("q"),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking {
                        text: "hmm".into(),
                        signature: Some("sig".into()),
                    },
                    Part::RedactedThinking {
                        data: "AAAA".into(),
                    },
                    Part::ToolCall {
                        id: "t".into(),
                        name: "f".into(),
                        arguments: "{}".into(),
                    },
                ],
            },
            Message {
                role: Role::Tool,
                content: vec![Part::ToolResult {
                    tool_call_id: "t".into(),
                    name: Some("f".into()),
                    content: vec![Part::Text {
                        text: "boom".into(),
                    }],
                    is_error: true,
                }],
            },
        ],
        ..ChatRequest::default()
    };
    let b = body(&req);
    assert_eq!(
        b["messages"][1]["content"][0],
        json!({"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}})
    );
    assert_eq!(
        b["messages"][1]["content"][1],
        json!({"reasoningContent": {"redactedContent": "AAAA"}})
    );
    assert_eq!(
        b["messages"][2]["content"][0]["toolResult"]["status"],
        "error"
    );
    assert_eq!(decode_request(&encode_request(&req).unwrap()).unwrap(), req);
}

#[test]
fn json_tool_results_decode_as_text() {
    let b = br#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"json":{"a":1}}],"status":"success"}}]}]}"#;
    let req = decode_request(b).unwrap();
    assert_eq!(
        req.messages[0],
        Message {
            role: Role::Tool,
            content: vec![Part::ToolResult {
                tool_call_id: "t".into(),
                name: None,
                content: vec![Part::Text {
                    text: r#"{"a":1}"#.into()
                }],
                is_error: false,
            }],
        }
    );
}
