"""The official `openai` Python SDK against the gateway's /v1/responses: passed
through to a provider with the Responses API (the emulator's /v1/responses) and
bridged to a chat-only OpenAI-style provider, Anthropic, Gemini and Bedrock.

The SDK's stream helper (`client.responses.stream`) rebuilds the response from
the events and refuses a stream whose items are not opened before their deltas,
closed once, or whose ids change: it is the check that the event lifecycle and
ids are right."""

from __future__ import annotations

import json

import pytest

from conftest import openai_client_for, start_gateway

CONFIG = """\
server: {{ listen: "{gw}" }}
providers:
  - {{ id: native, type: openai, baseUrl: "http://{emu}", apiTokens: ["sk-oai-000000001"] }}
  - {{ id: chat, type: openai, baseUrl: "http://{emu}", apiTokens: ["sk-chat-00000001"], responsesApi: false }}
  - {{ id: claude, type: claude, baseUrl: "http://{emu}", apiTokens: ["sk-ant-000000001"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{emu}", apiTokens: ["gm-key-000000001"] }}
  - {{ id: rock, type: bedrock, baseUrl: "http://{emu}", awsRegion: us-east-1, awsAccessKey: "AKIDEXAMPLE00001", awsSecretKey: "secret-example-key" }}
routes:
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: bedrock, models: ["anthropic.*"], provider: rock }}
  - {{ name: chat, models: ["chat-*"], provider: chat }}
  - {{ name: openai, models: ["gpt-*"], provider: native }}
"""

# (model, where it must land on the emulator).
NATIVE = pytest.param("gpt-4o-mini", "/v1/responses", id="native")
BRIDGED = [
    pytest.param("chat-model", "/v1/chat/completions", id="chat"),
    pytest.param("claude-sonnet-4-5", "/v1/messages", id="anthropic"),
    pytest.param("gemini-2.5-flash", "/models/gemini-2.5-flash:", id="gemini"),
    pytest.param("anthropic.claude-3-5-haiku-20241022-v1:0", "/converse", id="bedrock"),
]
ALL = [NATIVE, *BRIDGED]

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}
QUESTION = "What is the weather in San Francisco?"
TOOL_RESULT = "Sunny and 21 degrees in sf"


@pytest.fixture(scope="module")
def responses_gateway(switchyard_bin, emulator, tmp_path_factory):
    work = tmp_path_factory.mktemp("responses-gateway")
    gw = start_gateway(
        switchyard_bin, work, lambda addr, _admin: CONFIG.format(gw=addr, emu=emulator.addr)
    )
    try:
        yield gw
    finally:
        gw.process.stop()


@pytest.fixture
def client(responses_gateway):
    with openai_client_for(responses_gateway.url) as c:
        yield c


@pytest.fixture
def landed(emulator):
    """Clears the emulator's log; `landed(path)` checks every request went there."""
    emulator.clear()

    def check(path: str, count: int) -> None:
        paths = [r.get("path", "") for r in emulator.requests()]
        assert len(paths) == count and all(path in p for p in paths), paths

    return check


def _assert_usage(usage) -> None:
    assert usage is not None, "usage missing"
    assert usage.input_tokens > 0, usage
    assert usage.output_tokens > 0, usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens, usage


@pytest.mark.parametrize("model,path", ALL)
def test_create(client, landed, model, path):
    resp = client.responses.create(
        model=model,
        instructions="You are terse.",
        input="Say hello to the SDK test.",
        max_output_tokens=64,
    )
    assert resp.id.startswith("resp_"), resp.id
    assert resp.object == "response"
    assert resp.status == "completed"
    assert "Say hello" in resp.output_text, resp.output_text
    messages = [o for o in resp.output if o.type == "message"]
    assert len(messages) == 1 and messages[0].id.startswith("msg_"), resp.output
    _assert_usage(resp.usage)
    landed(path, 1)


EXPECTED_ORDER = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.mark.parametrize("model,path", ALL)
def test_stream_events(client, landed, model, path):
    stream = client.responses.create(
        model=model, input="Tell me a short story about a switchyard.", stream=True
    )
    with stream:
        events = list(stream)
    types = [e.type for e in events]
    # Deltas collapsed: the lifecycle in order, each step once.
    collapsed = [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]
    assert collapsed == EXPECTED_ORDER, types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    ids = {e.response.id for e in events if hasattr(e, "response")}
    assert len(ids) == 1, ids
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert "short story" in text, text
    final = events[-1].response
    assert final.output_text == text
    _assert_usage(final.usage)
    landed(path, 1)


@pytest.mark.parametrize("model,path", ALL)
def test_stream_helper(client, landed, model, path):
    # The helper rebuilds the response from the events, strictly.
    with client.responses.stream(model=model, input="Hello from the stream helper") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.status == "completed"
    assert final.output_text == "".join(deltas)
    assert "stream helper" in final.output_text
    _assert_usage(final.usage)
    landed(path, 1)


@pytest.mark.parametrize("model,path", ALL)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_function_tool_round_trip(client, landed, model, path, streamed):
    def ask(**kw):
        if not streamed:
            return client.responses.create(model=model, tools=[WEATHER_TOOL], **kw)
        with client.responses.stream(model=model, tools=[WEATHER_TOOL], **kw) as s:
            for _ in s:
                pass
            return s.get_final_response()

    first = ask(input=QUESTION)
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1, first.output
    call = calls[0]
    assert call.name == "get_weather"
    assert call.id.startswith("fc_") and call.call_id, call
    # The emulator fills required string properties with "sf".
    assert json.loads(call.arguments) == {"city": "sf"}, call.arguments
    _assert_usage(first.usage)

    second = ask(
        input=[
            {"role": "user", "content": QUESTION},
            *[o.model_dump(exclude_none=True) for o in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT},
        ]
    )
    assert not [o for o in second.output if o.type == "function_call"]
    assert TOOL_RESULT[:20] in second.output_text, second.output_text
    landed(path, 2)


@pytest.mark.parametrize("model,path", BRIDGED)
def test_previous_response_id_bridged(client, landed, model, path):
    import openai

    first = client.responses.create(model=model, input=QUESTION, tools=[WEATHER_TOOL])
    call = next(o for o in first.output if o.type == "function_call")
    second = client.responses.create(
        model=model,
        previous_response_id=first.id,
        tools=[WEATHER_TOOL],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT}],
    )
    assert second.previous_response_id == first.id
    assert TOOL_RESULT[:20] in second.output_text, second.output_text
    # The earlier turn went upstream with this one: more input than it had.
    assert second.usage.input_tokens > first.usage.input_tokens, (second.usage, first.usage)
    landed(path, 2)

    # Stored by the gateway: retrieve, delete, then it is gone.
    got = client.responses.retrieve(first.id)
    assert got.id == first.id and got.output_text == first.output_text
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model=model, previous_response_id=first.id, input="again")
    assert first.id in str(e.value)


def test_previous_response_id_native(client, landed):
    first = client.responses.create(model="gpt-4o-mini", input="Hello")
    second = client.responses.create(
        model="gpt-4o-mini", previous_response_id=first.id, input="And again"
    )
    # Passed through untouched (the emulator echoes it).
    assert second.previous_response_id == first.id
    landed("/v1/responses", 2)


@pytest.mark.parametrize("model,path", BRIDGED)
def test_built_in_tools_are_dropped(client, landed, model, path):
    raw = client.responses.with_raw_response.create(
        model=model, input="Hello", tools=[{"type": "web_search"}, WEATHER_TOOL]
    )
    assert raw.headers.get("x-switchyard-dropped-tools") == "web_search"
    resp = raw.parse()
    assert [t.type for t in resp.tools] == ["function"]
    landed(path, 1)
