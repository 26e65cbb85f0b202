"""The official SDKs against the gateway's pass-through APIs (images, audio,
moderations, files, batches) and Anthropic token counting, with the
emulator's OpenAI-style and Claude providers behind it."""

from __future__ import annotations

import base64
import io
import math
import struct
import wave

import pytest

from conftest import openai_client_for, start_gateway


def _wav(seconds: float = 0.5, rate: int = 16000) -> bytes:
    """A short, valid mono 16-bit WAV file: a 440 Hz tone."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return buf.getvalue()


@pytest.fixture(scope="module")
def media_gateway(switchyard_bin, emulator, tmp_path_factory):
    """A gateway sending every model to the emulator's OpenAI-style provider,
    which is also its files provider (`filesProvider`)."""
    work = tmp_path_factory.mktemp("media-gateway")
    gw = start_gateway(
        switchyard_bin,
        work,
        lambda addr, _admin: (
            f'server: {{ listen: "{addr}" }}\n'
            "providers:\n"
            f'  - {{ id: oai, type: openai, baseUrl: "http://{emulator.addr}", apiTokens: ["sk-oai-000000002"] }}\n'
            "filesProvider: oai\n"
        ),
    )
    try:
        yield gw
    finally:
        gw.process.stop()


@pytest.fixture
def media_client(media_gateway):
    with openai_client_for(media_gateway.url) as client:
        yield client


def test_images_generate(media_client, upstream):
    resp = media_client.images.generate(model="gpt-image-1", prompt="a lighthouse at dusk", n=1)
    assert len(resp.data) == 1
    png = base64.b64decode(resp.data[0].b64_json)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert resp.usage is not None and resp.usage.input_tokens > 0
    assert upstream.paths() == ["/v1/images/generations"]


def test_audio_transcription_of_a_real_wav(media_client, upstream, tmp_path):
    data = _wav()
    path = tmp_path / "tone.wav"
    path.write_bytes(data)
    with open(path, "rb") as f:
        resp = media_client.audio.transcriptions.create(model="whisper-1", file=f)
    # The whole file reached the provider, as a file part of the form.
    assert resp.text.startswith(f"Emulated transcription of tone.wav ({len(data)} bytes"), resp.text
    assert upstream.paths() == ["/v1/audio/transcriptions"]


def test_audio_speech(media_client, upstream):
    resp = media_client.audio.speech.create(model="tts-1", voice="alloy", input="Hello from the SDK test.")
    audio = resp.content
    assert audio.startswith(b"ID3") and len(audio) >= 1024
    assert resp.response.headers["content-type"] == "audio/mpeg"
    with media_client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Streamed.", response_format="wav"
    ) as streamed:
        assert streamed.headers["content-type"] == "audio/wav"
        chunks = list(streamed.iter_bytes())
    assert b"".join(chunks) == audio


def test_moderations(media_client, upstream):
    resp = media_client.moderations.create(
        model="omni-moderation-latest", input=["a friendly note", "flag-me now"]
    )
    assert [r.flagged for r in resp.results] == [False, True]
    assert upstream.paths() == ["/v1/moderations"]


def test_files_and_batches_named_by_header(gateway, upstream):
    with openai_client_for(
        gateway.url, default_headers={"x-switchyard-provider": "oai"}
    ) as client:
        _files_and_batches(client)


def test_files_and_batches_by_config_default(media_client):
    _files_and_batches(media_client)


def _files_and_batches(client) -> None:
    lines = (
        b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", '
        b'"body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}\n'
    )
    f = client.files.create(file=("requests.jsonl", lines), purpose="batch")
    assert f.id.startswith("file-") and f.bytes == len(lines) and f.purpose == "batch"
    assert client.files.retrieve(f.id).filename == "requests.jsonl"
    assert client.files.content(f.id).content == lines
    batch = client.batches.create(
        input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.id.startswith("batch_") and batch.status == "validating"
    assert batch.request_counts.total == 1
    assert client.batches.retrieve(batch.id).input_file_id == f.id
    assert client.batches.cancel(batch.id).status == "cancelled"
    assert batch.id in [b.id for b in client.batches.list()]
    assert client.files.delete(f.id).deleted is True


def _count_request() -> dict:
    return {
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Count the tokens of this short question, please."}],
    }


def test_count_tokens_by_the_provider(anthropic_client, upstream):
    raw = anthropic_client.messages.with_raw_response.count_tokens(
        model="claude-sonnet-4-5", **_count_request()
    )
    assert raw.headers.get("x-switchyard-tokens-estimated") is None
    assert raw.parse().input_tokens > 0
    assert upstream.paths() == ["/v1/messages/count_tokens"]


def test_count_tokens_estimated_by_the_gateway(anthropic_client, upstream):
    raw = anthropic_client.messages.with_raw_response.count_tokens(
        model="gpt-4o-mini", **_count_request()
    )
    assert raw.headers.get("x-switchyard-tokens-estimated") == "true"
    assert 5 < raw.parse().input_tokens < 100
    assert upstream.paths() == []
