"""The official `openai` Python SDK against the gateway's /v1/chat/completions,
with each provider dialect of the emulator behind it."""

from __future__ import annotations

import json

import pytest

from conftest import MODELS

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}
TOOL_RESULT = "Sunny and 21 degrees in sf"
QUESTION = "What is the weather in San Francisco?"


def _assert_usage(usage) -> None:
    assert usage is not None, "usage missing"
    assert usage.prompt_tokens > 0, usage
    assert usage.completion_tokens > 0, usage
    assert usage.total_tokens >= usage.prompt_tokens + usage.completion_tokens, usage


@pytest.mark.parametrize("model", MODELS)
def test_chat(openai_client, upstream, model):
    resp = openai_client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to the SDK test."},
        ],
        max_tokens=64,
    )
    assert resp.id, "response id missing"
    assert resp.object == "chat.completion"
    assert resp.model == model
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.finish_reason == "stop"
    _assert_usage(resp.usage)
    upstream.assert_dialect(model, count=1)


@pytest.mark.parametrize("model", MODELS)
def test_chat_stream(openai_client, upstream, model):
    stream = openai_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Tell me a short story about a switchyard."}],
        max_tokens=64,
        stream=True,
        stream_options={"include_usage": True},
    )
    with stream:
        chunks = list(stream)
    assert len(chunks) >= 3, chunks
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    ids = {c.id for c in chunks}
    assert len(ids) == 1 and all(ids), f"chunk ids: {ids}"
    assert {c.model for c in chunks} == {model}
    text = "".join(ch.delta.content or "" for c in chunks for ch in c.choices)
    assert text.strip(), "no streamed text"
    finishes = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert finishes == ["stop"], finishes
    # include_usage: one final chunk with the usage and no choices.
    assert [c for c in chunks if c.usage is not None] == [chunks[-1]], chunks[-1]
    assert chunks[-1].choices == []
    _assert_usage(chunks[-1].usage)
    upstream.assert_dialect(model, count=1)


@pytest.mark.parametrize("model", MODELS)
def test_chat_stream_without_usage_option(openai_client, upstream, model):
    # The gateway asks upstream for usage on its own; the client that did not ask
    # for it must not get the usage-only chunk.
    stream = openai_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Hello!"}],
        max_tokens=64,
        stream=True,
    )
    with stream:
        chunks = list(stream)
    assert chunks and all(c.usage is None for c in chunks), chunks[-1]
    assert all(c.choices for c in chunks)
    assert "".join(ch.delta.content or "" for c in chunks for ch in c.choices).strip()
    assert chunks[-1].choices[0].finish_reason == "stop"
    upstream.assert_dialect(model, count=1)


def _tool_answer_messages(tool_call_id: str, name: str, arguments: str, content) -> list:
    return [
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": content,
            "tool_calls": [
                {
                    "id": tool_call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": tool_call_id, "content": TOOL_RESULT},
    ]


@pytest.mark.parametrize("model", MODELS)
def test_tool_round_trip(openai_client, upstream, model):
    first = openai_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        tools=[WEATHER_TOOL],
        max_tokens=256,
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1, choice.message
    call = calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    # The emulator fills required string properties with "sf".
    assert json.loads(call.function.arguments) == {"city": "sf"}, call.function.arguments
    _assert_usage(first.usage)

    second = openai_client.chat.completions.create(
        model=model,
        messages=_tool_answer_messages(
            call.id, call.function.name, call.function.arguments, choice.message.content
        ),
        tools=[WEATHER_TOOL],
        max_tokens=256,
    )
    answer = second.choices[0]
    assert answer.finish_reason == "stop"
    assert not answer.message.tool_calls
    assert TOOL_RESULT in (answer.message.content or ""), answer.message
    _assert_usage(second.usage)
    upstream.assert_dialect(model, count=2)


def _collect_stream(stream):
    """Assembles text, tool calls (by index), finish reason and usage from chunks."""
    text, calls, finish, usage = [], {}, None, None
    with stream:
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for c in chunk.choices:
                if c.delta.content:
                    text.append(c.delta.content)
                for tc in c.delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                    if tc.id:
                        slot["id"] = tc.id
                    if tc.function is not None:
                        if tc.function.name:
                            slot["name"] += tc.function.name
                        if tc.function.arguments:
                            slot["arguments"] += tc.function.arguments
                if c.finish_reason:
                    finish = c.finish_reason
    return "".join(text), [calls[i] for i in sorted(calls)], finish, usage


@pytest.mark.parametrize("model", MODELS)
def test_tool_round_trip_stream(openai_client, upstream, model):
    text, calls, finish, usage = _collect_stream(
        openai_client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": QUESTION}],
            tools=[WEATHER_TOOL],
            max_tokens=256,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert finish == "tool_calls"
    assert len(calls) == 1, calls
    call = calls[0]
    assert call["id"], call
    assert call["name"] == "get_weather", call
    assert json.loads(call["arguments"]) == {"city": "sf"}, call["arguments"]
    _assert_usage(usage)

    text2, calls2, finish2, usage2 = _collect_stream(
        openai_client.chat.completions.create(
            model=model,
            messages=_tool_answer_messages(call["id"], call["name"], call["arguments"], text or None),
            tools=[WEATHER_TOOL],
            max_tokens=256,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert finish2 == "stop"
    assert not calls2
    assert TOOL_RESULT in text2, text2
    _assert_usage(usage2)
    upstream.assert_dialect(model, count=2)
