"""`models.list()` and `models.retrieve()` with the official SDKs: behind the
glob routes of the session gateway (`gpt-*`, `claude-*`, `gemini-*`,
`anthropic.*`) are the models the emulator's own `/v1/models` lists (for the
OpenAI-style provider) and the catalog's lists (for Claude, Gemini and
Bedrock, which have no `/models` the gateway calls)."""

from __future__ import annotations

import openai
import pytest


def test_openai_models_list(openai_client):
    models = {m.id: m for m in openai_client.models.list()}
    # The emulator's own list, where the `gpt-*` route matches.
    for mid in ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini"):
        assert mid in models, sorted(models)
        assert models[mid].owned_by == "oai"
        assert models[mid].object == "model"
        assert models[mid].created > 1_600_000_000
    # The emulator lists these too, but no route sends them there.
    for mid in ("o3-mini", "mock-small", "qwen-plus"):
        assert mid not in models, sorted(models)
    # Catalog lists, owned by the provider id.
    assert models["claude-sonnet-4-5"].owned_by == "claude"
    assert models["gemini-2.5-flash"].owned_by == "gem"
    assert models["anthropic.claude-3-5-haiku-20241022-v1:0"].owned_by == "rock"


def test_openai_models_retrieve(openai_client):
    m = openai_client.models.retrieve("gpt-4.1-mini")
    assert (m.id, m.object, m.owned_by) == ("gpt-4.1-mini", "model", "oai")
    m = openai_client.models.retrieve("anthropic.claude-3-5-haiku-20241022-v1:0")
    assert m.owned_by == "rock"
    with pytest.raises(openai.NotFoundError) as e:
        openai_client.models.retrieve("no-such-model")
    assert e.value.status_code == 404
    assert e.value.code == "model_not_found"
    assert "no-such-model" in e.value.message


def test_anthropic_models_list(anthropic_client):
    first = anthropic_client.models.list(limit=3)
    assert len(first.data) == 3
    assert first.has_more is True
    assert first.first_id == first.data[0].id and first.last_id == first.data[-1].id
    # Iterating pages through the whole list (after_id = last_id).
    ids = [m.id for m in anthropic_client.models.list(limit=3)]
    assert len(ids) == len(set(ids)), ids
    for mid in ("gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"):
        assert mid in ids, ids
    assert ids[:3] == [m.id for m in first.data]
    m = anthropic_client.models.retrieve("claude-haiku-4-5")
    assert (m.type, m.id) == ("model", "claude-haiku-4-5")
    assert m.display_name
    assert m.created_at.year >= 2020
