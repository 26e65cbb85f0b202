"""Prometheus metrics (`GET /metrics` on the admin listener) after scripted
traffic from the official `openai` SDK, read with the official Prometheus
Python client's parser, with exact expected values.

The module starts a gateway of its own (admin listener, access log to a file),
so no other test's traffic is counted, in front of the session's emulator:

| scenario | route | what happens upstream |
|---|---|---|
| 3 chats | chat | `oai` answers 200 |
| 2 streamed chats (one with `include_usage`) | chat | `oai` answers 200 |
| 1 chat | retry | `rr` with `limited-x1` (429), retried with `ok-x2` (200) |
| 1 chat | fallback | `dn` with `down-…` (503), falls back to `backup` (200) |
| 1 chat for a model no route matches | (none) | nothing: the gateway answers 404 |

The retry is deterministic: `tokenSelection: round-robin` starts each
provider's cursor at 0 (`routing::pool`), so the first request on `rr` tries
its first token, `limited-x1`; the retry may only use a token the request has
not tried, and `ok-x2` is the only one. Failover is off, so no health check
sends anything with these tokens, and nothing else uses `rr`.

A scrape first accounts every request that has ended, so the counts are
exact as soon as the SDK has read its answers.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import CLIENT_TIMEOUT, Gateway, http_fetch, start_gateway

SCRAPE_TIMEOUT = 10.0

TOKENS = {
    "oai": ["sk-metrics-oai-0001"],
    "rr": ["limited-x1", "ok-x2"],
    "dn": ["down-metrics-0001"],
    "backup": ["sk-backup-metrics-0002"],
}

CONFIG = """\
server: {{ listen: "{gw}" }}
admin: {{ listen: "{admin}" }}
metrics: {{ enabled: true }}
log: {{ access: "{access_log}" }}
providers:
  - {{ id: oai, type: openai, baseUrl: "http://{emu}", apiTokens: {oai} }}
  - id: rr
    type: openai
    baseUrl: "http://{emu}"
    apiTokens: {rr}
    tokenSelection: round-robin
    retryOnFailure: {{ enabled: true, maxRetries: 1 }}
  - {{ id: dn, type: openai, baseUrl: "http://{emu}", apiTokens: {dn} }}
  - {{ id: backup, type: openai, baseUrl: "http://{emu}", apiTokens: {backup} }}
routes:
  - {{ name: retry, models: ["retry-*"], provider: rr }}
  - name: fallback
    models: ["fb-*"]
    provider: dn
    fallback: {{ onStatus: ["5xx"], targets: [{{ provider: backup, model: backup-model }}] }}
  - {{ name: chat, models: ["gpt-*"], provider: oai }}
"""

CHAT_MODEL = "gpt-4o-mini"
HISTOGRAMS = [
    "switchyard_request_duration_seconds",
    "switchyard_upstream_duration_seconds",
    "switchyard_gateway_overhead_seconds",
    "switchyard_time_to_first_token_seconds",
    "switchyard_time_per_output_token_seconds",
]
# Prompts of different lengths, so a request counted twice or not at all
# changes the token sums.
PROMPTS = [
    "Hi.",
    "Say hello to the metrics test, please.",
    "Count the wagons in the switchyard: one, two, three, four, five, six, seven.",
]


@dataclass
class Run:
    gateway: Gateway
    text: str
    text_again: str
    content_type: str
    families: list
    # request id of each scenario
    ids: dict[str, str]
    # route -> token type -> what the SDK (or, for the stream without
    # include_usage, the access log) reported
    usage: dict[str, Counter]
    # access log lines by request id
    access: dict[str, dict]
    # model sent upstream -> credentials the emulator received, in order
    upstream_creds: dict[str, list[str]]
    status: dict
    # wall time of the whole traffic, seconds
    wall: float
    # streams whose usage has more than one output token
    multi_token_streams: int = 0


def _add_usage(acc: Counter, usage) -> None:
    assert usage is not None, "the SDK reported no usage"
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage
    acc["input"] += usage.prompt_tokens
    acc["output"] += usage.completion_tokens
    acc["cached"] += getattr(usage.prompt_tokens_details, "cached_tokens", None) or 0
    acc["reasoning"] += getattr(usage.completion_tokens_details, "reasoning_tokens", None) or 0


@pytest.fixture(scope="module")
def metrics_gateway(switchyard_bin, emulator, tmp_path_factory):
    work = tmp_path_factory.mktemp("metrics-gateway")
    access_log = work / "access.log"

    def render(addr: str, admin: str | None) -> str:
        return CONFIG.format(
            gw=addr,
            admin=admin,
            emu=emulator.addr,
            access_log=access_log,
            **{k: json.dumps(v) for k, v in TOKENS.items()},
        )

    gw = start_gateway(switchyard_bin, work, render, admin=True)
    gw.access_log = access_log
    try:
        yield gw
    finally:
        gw.process.stop()


def _admin_get(gw: Gateway, path: str) -> tuple[dict[str, str], str]:
    status, headers, body = http_fetch(f"{gw.admin_url}{path}", timeout=SCRAPE_TIMEOUT)
    text = body.decode()
    assert status == 200, (path, status, text)
    return headers, text


@pytest.fixture(scope="module")
def run(metrics_gateway, emulator) -> Run:
    gw = metrics_gateway
    emulator.clear()
    client = openai.OpenAI(
        base_url=f"{gw.url}/v1",
        api_key="sk-any-client-key",
        max_retries=0,  # every retry counted here is the gateway's
        timeout=CLIENT_TIMEOUT,
    )
    ids: dict[str, str] = {}
    usage: dict[str, Counter] = defaultdict(Counter)
    multi_token_streams = 0

    def create(name: str, **kw):
        rid = f"metrics-{name}-{time.monotonic_ns()}"
        ids[name] = rid
        raw = client.chat.completions.with_raw_response.create(
            extra_headers={"x-request-id": rid}, max_tokens=64, **kw
        )
        assert raw.status_code == 200, (name, raw.status_code)
        assert raw.headers.get("x-request-id") == rid, (name, dict(raw.headers))
        return raw

    started = time.monotonic()
    try:
        # 3 chats that succeed.
        for i, prompt in enumerate(PROMPTS):
            raw = create(f"chat{i}", model=CHAT_MODEL, messages=[{"role": "user", "content": prompt}])
            resp = raw.parse()
            assert resp.choices[0].message.content, resp
            _add_usage(usage["chat"], resp.usage)

        # A stream with include_usage: the usage is in its last chunk.
        raw = create(
            "stream_usage",
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "Tell me a story about a switchyard."}],
            stream=True,
            stream_options={"include_usage": True},
        )
        with raw.parse() as stream:
            chunks = list(stream)
        assert [c for c in chunks if c.usage is not None] == [chunks[-1]], chunks[-1]
        _add_usage(usage["chat"], chunks[-1].usage)
        multi_token_streams += chunks[-1].usage.completion_tokens > 1

        # A stream without: the client sees no usage (the gateway asked for
        # it upstream and removed it); its counts come from the access log.
        raw = create(
            "stream_plain",
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "A shorter story, please."}],
            stream=True,
        )
        with raw.parse() as stream:
            chunks = list(stream)
        assert chunks and all(c.usage is None for c in chunks), chunks
        assert "".join(ch.delta.content or "" for c in chunks for ch in c.choices).strip()

        # 429 on the first token, the retry succeeds with the second.
        raw = create("retry", model="retry-m", messages=[{"role": "user", "content": "Retry me."}])
        assert raw.headers.get("x-switchyard-provider") == "rr", dict(raw.headers)
        _add_usage(usage["retry"], raw.parse().usage)

        # 503 on the only token of `dn`, the fallback target answers.
        raw = create("fallback", model="fb-m", messages=[{"role": "user", "content": "Fall back."}])
        assert raw.headers.get("x-switchyard-provider") == "backup", dict(raw.headers)
        assert raw.headers.get("x-switchyard-fallback-from") == "dn/fb-m", dict(raw.headers)
        _add_usage(usage["fallback"], raw.parse().usage)

        # No route matches: 404 model_not_found from the gateway.
        rid = f"metrics-not-found-{time.monotonic_ns()}"
        ids["not_found"] = rid
        with pytest.raises(openai.NotFoundError) as err:
            client.chat.completions.create(
                model="no-such-model",
                messages=[{"role": "user", "content": "Anyone?"}],
                extra_headers={"x-request-id": rid},
            )
        assert err.value.status_code == 404
        assert err.value.code == "model_not_found", err.value.body
        assert err.value.response.headers.get("x-request-id") == rid
    finally:
        client.close()
    wall = time.monotonic() - started

    upstream_creds: dict[str, list[str]] = defaultdict(list)
    for r in emulator.requests():
        upstream_creds[r.get("model")].append(r.get("credential"))

    headers, text = _admin_get(gw, "/metrics")
    _, text_again = _admin_get(gw, "/metrics")
    _, status = _admin_get(gw, "/status")

    # The scrape accounted every request, and the worker flushes the log
    # before answering it.
    access: dict[str, dict] = {}
    for line in gw.access_log.read_text().splitlines():
        entry = json.loads(line)
        assert entry["request_id"] not in access, f"two access log lines for {entry['request_id']}"
        access[entry["request_id"]] = entry
    plain = access.get(ids["stream_plain"])
    assert plain is not None, f"no access log line for {ids['stream_plain']}: {sorted(access)}"
    assert plain["status"] == 200 and plain["response_type"] == "stream", plain
    assert plain["token_estimated"] is False, plain
    assert plain["input_token"] > 0 and plain["output_token"] > 0, plain
    usage["chat"]["input"] += plain["input_token"]
    usage["chat"]["output"] += plain["output_token"]
    usage["chat"]["cached"] += plain["cached_token"]
    usage["chat"]["reasoning"] += plain["reasoning_token"]
    multi_token_streams += plain["output_token"] > 1

    return Run(
        gateway=gw,
        text=text,
        text_again=text_again,
        content_type=headers.get("content-type", ""),
        families=list(text_string_to_metric_families(text)),
        ids=ids,
        usage=usage,
        access=access,
        upstream_creds=dict(upstream_creds),
        status=json.loads(status),
        wall=wall,
        multi_token_streams=multi_token_streams,
    )


# --- helpers over the parsed families -------------------------------------


def _family(run: Run, name: str, families: list | None = None):
    """The parsed family `name` (counters by their exposed `_total` name), or None."""
    for f in run.families if families is None else families:
        if f.name == name or (f.type == "counter" and f.name + "_total" == name):
            return f
    return None


def _values(
    run: Run, name: str, keys: tuple[str, ...], sample: str | None = None, families: list | None = None
) -> dict:
    """{label values in `keys` order: value}, summed over the other labels,
    for the samples named `sample` (default: `name`)."""
    f = _family(run, name, families)
    out: dict = defaultdict(float)
    if f is None:
        return {}
    for s in f.samples:
        if s.name == (sample or name):
            out[tuple(s.labels.get(k) for k in keys)] += s.value
    return dict(out)


def _series(family) -> dict:
    """Histogram series: {frozenset(labels without le): {"buckets": [(le, v)], "sum", "count"}}."""
    out: dict = defaultdict(lambda: {"buckets": [], "sum": None, "count": None})
    for s in family.samples:
        labels = {k: v for k, v in s.labels.items() if k != "le"}
        key = frozenset(labels.items())
        if s.name.endswith("_bucket"):
            out[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_sum"):
            out[key]["sum"] = s.value
        elif s.name.endswith("_count"):
            out[key]["count"] = s.value
    return dict(out)


def _hist_counts(run: Run, name: str, keys: tuple[str, ...]) -> dict:
    return _values(run, name, keys, sample=f"{name}_count")


def _hist_sum(run: Run, name: str) -> float:
    return sum(_values(run, name, (), sample=f"{name}_sum").values())


# --- the exposition as a whole --------------------------------------------


def test_exposition_parses_and_is_namespaced(run):
    assert run.content_type.startswith("text/plain; version=0.0.4"), run.content_type
    # The parser read the whole document (it raises on any malformed line).
    assert run.families, run.text
    names = {f.name for f in run.families}
    assert all(n.startswith("switchyard_") for n in names), sorted(names)
    for f in run.families:
        for s in f.samples:
            assert s.name.startswith("switchyard_"), s
    for line in run.text.splitlines():
        if line.startswith("#"):
            assert re.match(r"# (HELP|TYPE) switchyard_", line), line
        elif line.strip():
            assert line.startswith("switchyard_"), line
    # Every family this traffic must have produced is there.
    for name in [
        "switchyard_requests_total",
        *HISTOGRAMS,
        "switchyard_tokens_total",
        "switchyard_upstream_failures_total",
        "switchyard_gateway_errors_total",
        "switchyard_retries_total",
        "switchyard_fallbacks_total",
        "switchyard_credential_healthy",
        "switchyard_telemetry_dropped_total",
    ]:
        f = _family(run, name)
        assert f is not None and f.samples, f"{name} missing from the exposition"


def test_durations_are_histograms_not_summaries(run):
    for name in HISTOGRAMS:
        assert re.search(rf"^# TYPE {name} histogram$", run.text, re.M), f"no `# TYPE {name} histogram`"
        assert _family(run, name).type == "histogram", name
    assert not re.search(r"^# TYPE \S+ summary$", run.text, re.M)


def test_histograms_are_well_formed(run):
    for name in HISTOGRAMS:
        family = _family(run, name)
        series = _series(family)
        assert series, name
        bounds = None
        for labels, h in series.items():
            where = f"{name}{dict(labels)}"
            les = [le for le, _ in h["buckets"]]
            assert les == sorted(les) and len(set(les)) == len(les), f"{where}: bucket order {les}"
            assert les and les[-1] == math.inf, f"{where}: no +Inf bucket"
            counts = [v for _, v in h["buckets"]]
            assert all(a <= b for a, b in zip(counts, counts[1:])), f"{where}: buckets not cumulative {counts}"
            assert h["count"] is not None and counts[-1] == h["count"], f"{where}: +Inf {counts[-1]} != count {h['count']}"
            assert h["sum"] is not None and math.isfinite(h["sum"]) and h["sum"] >= 0, f"{where}: sum {h['sum']}"
            # Fixed buckets: every series of a family has the same, so they aggregate.
            bounds = bounds or les
            assert les == bounds, f"{where}: buckets {les} differ from {bounds}"
        assert len(bounds) >= 6, f"{name}: only {bounds}"


def test_scraping_is_not_traffic(run):
    again = list(text_string_to_metric_families(run.text_again))
    keys = ("route", "provider", "model", "status_class")
    first = _values(run, "switchyard_requests_total", keys)
    assert _values(run, "switchyard_requests_total", keys, families=again) == first


# --- requests and their durations ----------------------------------------

# (route, serving provider, model) -> requests; every one with consumer "none".
SERVED = {
    ("chat", "oai", CHAT_MODEL, "2xx"): 5,
    ("retry", "rr", "retry-m", "2xx"): 1,
    ("fallback", "backup", "backup-model", "2xx"): 1,
    ("none", "none", "none", "4xx"): 1,
}


def test_requests_total(run):
    by_route = _values(run, "switchyard_requests_total", ("route", "status_class"))
    assert by_route == {
        ("chat", "2xx"): 5,
        ("retry", "2xx"): 1,
        ("fallback", "2xx"): 1,
        ("none", "4xx"): 1,
    }
    full = _values(run, "switchyard_requests_total", ("route", "provider", "model", "status_class"))
    assert full == SERVED
    consumers = _values(run, "switchyard_requests_total", ("consumer",))
    assert consumers == {("none",): 8}


def test_request_duration_counts(run):
    name = "switchyard_request_duration_seconds"
    assert _hist_counts(run, name, ("route", "provider", "model", "status_class")) == SERVED
    total = _hist_sum(run, name)
    # Seconds, and each request's time lies within what the client waited.
    assert 0 < total <= run.wall, f"sum of request durations {total}s, traffic took {run.wall}s"


def test_upstream_duration_counts(run):
    name = "switchyard_upstream_duration_seconds"
    # One sample per attempt, labelled with the attempt's own provider and status.
    assert _hist_counts(run, name, ("route", "provider", "model", "status_class")) == {
        ("chat", "oai", CHAT_MODEL, "2xx"): 5,
        ("retry", "rr", "retry-m", "4xx"): 1,
        ("retry", "rr", "retry-m", "2xx"): 1,
        ("fallback", "dn", "fb-m", "5xx"): 1,
        ("fallback", "backup", "backup-model", "2xx"): 1,
    }
    assert _hist_sum(run, name) <= _hist_sum(run, "switchyard_request_duration_seconds") + 1e-6


def test_gateway_overhead_counts(run):
    name = "switchyard_gateway_overhead_seconds"
    want = {k[:3]: v for k, v in SERVED.items()}
    assert _hist_counts(run, name, ("route", "provider", "model")) == want
    assert _hist_counts(run, name, ("consumer",)) == {("none",): 8}
    assert _hist_sum(run, name) <= _hist_sum(run, "switchyard_request_duration_seconds") + 1e-6


def test_stream_timings_only_for_streams(run):
    ttft = _hist_counts(run, "switchyard_time_to_first_token_seconds", ("route", "provider", "model"))
    assert ttft == {("chat", "oai", CHAT_MODEL): 2}
    tpot = _hist_counts(run, "switchyard_time_per_output_token_seconds", ("route", "provider", "model"))
    assert tpot == {("chat", "oai", CHAT_MODEL): run.multi_token_streams}
    assert run.multi_token_streams == 2


# --- tokens ----------------------------------------------------------------


def test_tokens_total_match_reported_usage(run):
    got = _values(run, "switchyard_tokens_total", ("route", "type"))
    want = {(route, kind): n for route, c in run.usage.items() for kind, n in c.items() if n}
    assert got == want, f"metrics {got}\nSDK + access log {want}"
    # The emulator reports usage for every answer: nothing was estimated.
    assert set(_values(run, "switchyard_tokens_total", ("estimated",))) == {("false",)}
    # The served provider and model carry the tokens.
    by_provider = _values(run, "switchyard_tokens_total", ("route", "provider", "model"))
    assert set(by_provider) == {k[:3] for k in SERVED if k[0] != "none"}


def test_access_log_agrees(run):
    for name, rid in run.ids.items():
        assert rid in run.access, f"no access log line for {name} ({rid})"
    a = run.access
    assert a[run.ids["not_found"]]["status"] == 404
    assert a[run.ids["not_found"]]["error"].startswith("model_not_found"), a[run.ids["not_found"]]
    retry = a[run.ids["retry"]]
    assert [(x["provider"], x["status"]) for x in retry["attempts"]] == [("rr", 429), ("rr", 200)], retry
    fb = a[run.ids["fallback"]]
    assert [(x["provider"], x["status"]) for x in fb["attempts"]] == [("dn", 503), ("backup", 200)], fb
    assert fb["fallback_from"] == "dn/fb-m", fb
    for name, rid in run.ids.items():
        if name != "not_found":
            assert (a[rid]["status"], a[rid]["finish_reason"]) == (200, "stop"), a[rid]
    # The access log and the metrics count the same tokens.
    ours = [a[rid] for rid in run.ids.values()]
    tokens = _values(run, "switchyard_tokens_total", ("type",))
    assert sum(e["input_token"] for e in ours) == tokens.get(("input",), 0)
    assert sum(e["output_token"] for e in ours) == tokens.get(("output",), 0)


# --- resilience ------------------------------------------------------------


def test_scenario_was_deterministic(run):
    """The emulator saw exactly the attempts the scenarios are built on."""
    assert run.upstream_creds.get("retry-m") == ["limited-x1", "ok-x2"], run.upstream_creds
    assert run.upstream_creds.get("fb-m") == ["down-metrics-0001"], run.upstream_creds
    assert run.upstream_creds.get("backup-model") == ["sk-backup-metrics-0002"], run.upstream_creds
    assert run.upstream_creds.get(CHAT_MODEL) == ["sk-metrics-oai-0001"] * 5, run.upstream_creds
    assert "no-such-model" not in run.upstream_creds


def test_upstream_failures_total(run):
    got = _values(
        run, "switchyard_upstream_failures_total", ("route", "provider", "model", "kind", "status")
    )
    assert got == {
        ("retry", "rr", "retry-m", "upstream_status", "429"): 1,
        ("fallback", "dn", "fb-m", "upstream_status", "503"): 1,
    }


def test_gateway_errors_total(run):
    assert _values(run, "switchyard_gateway_errors_total", ("route", "code")) == {
        ("none", "model_not_found"): 1
    }


def test_retries_and_fallbacks_total(run):
    assert _values(run, "switchyard_retries_total", ("route", "provider")) == {("retry", "rr"): 1}
    assert _values(run, "switchyard_fallbacks_total", ("route", "from", "to")) == {
        ("fallback", "dn", "backup"): 1
    }


# --- credentials -------------------------------------------------------------


def test_credential_gauges_are_masked(run):
    gauges = _values(run, "switchyard_credential_healthy", ("provider", "credential"))
    # One gauge per configured credential, all in rotation (failover is off),
    # with the same masked names as the admin /status view.
    from_status = {
        (p["id"], c["credential"]): 1.0 for p in run.status["providers"] for c in p["credentials"]
    }
    assert gauges == from_status
    per_provider = Counter(p for p, _ in gauges)
    assert per_provider == {p: len(t) for p, t in TOKENS.items()}, gauges
    raw = {t for ts in TOKENS.values() for t in ts}
    for (provider, cred), _ in gauges.items():
        assert "…" in cred, f"{provider}: credential label {cred!r} is not masked"
        assert cred not in raw
        shown = cred.replace("…", "")
        assert len(shown) <= 8 and any(t.endswith(shown[-2:]) for t in TOKENS[provider]), cred
    # No raw token anywhere in the exposition.
    for token in raw:
        assert token not in run.text, f"raw token {token!r} in /metrics"
    # Failover is off: no credential moved (each has its transition counters,
    # at zero), nothing was health-checked.
    moved = _family(run, "switchyard_credential_transitions_total")
    assert moved is not None and moved.samples
    assert all(s.value == 0 for s in moved.samples), moved.samples
    assert {(s.labels["provider"], s.labels["credential"]) for s in moved.samples} == set(gauges)
    checked = _family(run, "switchyard_health_checks_total")
    assert checked is None or not checked.samples, checked.samples


def test_no_telemetry_dropped(run):
    assert _values(run, "switchyard_telemetry_dropped_total", ()) == {(): 0}


def test_promtool_check_metrics(run):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    r = subprocess.run(
        [promtool, "check", "metrics"],
        input=run.text.encode(),
        capture_output=True,
        timeout=30,
    )
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")
