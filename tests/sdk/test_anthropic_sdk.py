"""The official `anthropic` Python SDK against the gateway's /v1/messages,
with each provider dialect of the emulator behind it."""

from __future__ import annotations

import pytest

from conftest import MODELS

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}
TOOL_RESULT = "Sunny and 21 degrees in sf"
QUESTION = "What is the weather in San Francisco?"


def _text(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def _assert_usage(usage) -> None:
    assert usage is not None, "usage missing"
    assert usage.input_tokens > 0, usage
    assert usage.output_tokens > 0, usage


@pytest.mark.parametrize("model", MODELS)
def test_chat(anthropic_client, upstream, model):
    msg = anthropic_client.messages.create(
        model=model,
        max_tokens=64,
        system="You are terse.",
        messages=[{"role": "user", "content": "Say hello to the SDK test."}],
    )
    assert msg.id, "message id missing"
    assert msg.type == "message"
    assert msg.role == "assistant"
    assert msg.model == model
    assert _text(msg).strip(), msg
    assert msg.stop_reason == "end_turn"
    _assert_usage(msg.usage)
    upstream.assert_dialect(model, count=1)


@pytest.mark.parametrize("model", MODELS)
def test_mid_conversation_system_message(anthropic_client, upstream, model):
    """Claude Code 2.1's shape: a system message after the user's turn, with
    the `mid-conversation-system` beta; every provider dialect answers."""
    msg = anthropic_client.messages.create(
        model=model,
        max_tokens=64,
        system="You are terse.",
        messages=[
            {"role": "user", "content": "Say hello to the SDK test."},
            {"role": "system", "content": [{"type": "text", "text": "Reminder: the cwd is /src."}]},
        ],
        extra_headers={"anthropic-beta": "mid-conversation-system-2026-04-07"},
    )
    assert msg.type == "message"
    assert "Say hello" in _text(msg), msg
    upstream.assert_dialect(model, count=1)


@pytest.mark.parametrize("model", MODELS)
def test_chat_stream(anthropic_client, upstream, model):
    pieces, event_types = [], []
    with anthropic_client.messages.stream(
        model=model,
        max_tokens=64,
        messages=[{"role": "user", "content": "Tell me a short story about a switchyard."}],
    ) as stream:
        for event in stream:
            event_types.append(event.type)
            if event.type == "text":
                pieces.append(event.text)
        final = stream.get_final_message()
    text = "".join(pieces)
    assert text.strip(), f"no streamed text; events: {event_types}"
    assert event_types[0] == "message_start", event_types
    assert event_types[-1] == "message_stop", event_types
    assert _text(final) == text
    assert final.id
    assert final.model == model
    assert final.stop_reason == "end_turn"
    _assert_usage(final.usage)
    upstream.assert_dialect(model, count=1)


def _tool_answer_messages(assistant_content, tool_use_id: str) -> list:
    return [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": assistant_content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": TOOL_RESULT}],
        },
    ]


def _tool_use(message):
    uses = [b for b in message.content if b.type == "tool_use"]
    assert len(uses) == 1, message.content
    use = uses[0]
    assert use.id
    assert use.name == "get_weather"
    # The emulator fills required string properties with "sf".
    assert use.input == {"city": "sf"}, use.input
    return use


@pytest.mark.parametrize("model", MODELS)
def test_tool_round_trip(anthropic_client, upstream, model):
    first = anthropic_client.messages.create(
        model=model,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": QUESTION}],
    )
    assert first.stop_reason == "tool_use"
    use = _tool_use(first)
    _assert_usage(first.usage)

    second = anthropic_client.messages.create(
        model=model,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        messages=_tool_answer_messages(first.content, use.id),
    )
    assert second.stop_reason == "end_turn"
    assert not [b for b in second.content if b.type == "tool_use"]
    assert TOOL_RESULT in _text(second), second.content
    _assert_usage(second.usage)
    upstream.assert_dialect(model, count=2)


@pytest.mark.parametrize("model", MODELS)
def test_tool_round_trip_stream(anthropic_client, upstream, model):
    with anthropic_client.messages.stream(
        model=model,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": QUESTION}],
    ) as stream:
        json_deltas = sum(1 for e in stream if e.type == "input_json")
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    use = _tool_use(first)
    assert json_deltas >= 1
    _assert_usage(first.usage)

    with anthropic_client.messages.stream(
        model=model,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        messages=_tool_answer_messages(first.content, use.id),
    ) as stream:
        text = "".join(stream.text_stream)
        second = stream.get_final_message()
    assert second.stop_reason == "end_turn"
    assert not [b for b in second.content if b.type == "tool_use"]
    assert TOOL_RESULT in text, text
    assert _text(second) == text
    _assert_usage(second.usage)
    upstream.assert_dialect(model, count=2)
