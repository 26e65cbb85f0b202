"""Fixtures for the SDK acceptance tests.

One emulator (`switchyard mock`) and one gateway (`switchyard serve`) are
started per test session, on free 127.0.0.1 ports, with a config that routes
one model family per provider dialect (OpenAI, Anthropic, Gemini, Bedrock
Converse) to the emulator. The binary is `$SWITCHYARD_BIN`, else
`target/debug/switchyard` at the repository root. A test module that needs a
gateway of its own (another config, an admin listener, counts no other test
disturbs) starts one with `start_gateway`.

Every wait is bounded; both processes are terminated (then killed) at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# Bounded waits (seconds).
STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 5.0
CLIENT_TIMEOUT = 30.0

# The models of the acceptance test: one per provider dialect.
MODELS = [
    pytest.param("gpt-4o-mini", id="openai"),
    pytest.param("claude-sonnet-4-5", id="anthropic"),
    pytest.param("gemini-2.5-flash", id="gemini"),
    pytest.param("anthropic.claude-3-5-haiku-20241022-v1:0", id="bedrock"),
]

# Where each model must land on the emulator (a substring of the upstream
# path), proving the gateway really translated to that dialect.
UPSTREAM_PATH = {
    "gpt-4o-mini": "/v1/chat/completions",
    "claude-sonnet-4-5": "/v1/messages",
    "gemini-2.5-flash": "/models/gemini-2.5-flash:",
    "anthropic.claude-3-5-haiku-20241022-v1:0": "/model/anthropic.claude-3-5-haiku-20241022-v1",
}

CONFIG_TEMPLATE = """\
server: {{ listen: "{gw}" }}
providers:
  - {{ id: oai, type: openai, baseUrl: "http://{emu}", apiTokens: ["sk-oai-000000001"] }}
  - {{ id: claude, type: claude, baseUrl: "http://{emu}", apiTokens: ["sk-ant-000000001"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{emu}", apiTokens: ["gm-key-000000001"] }}
  - {{ id: rock, type: bedrock, baseUrl: "http://{emu}", awsRegion: us-east-1, awsAccessKey: "AKIDEXAMPLE00001", awsSecretKey: "secret-example-key" }}
routes:
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: bedrock, models: ["anthropic.*"], provider: rock }}
  - {{ name: openai, models: ["gpt-*"], provider: oai }}
"""

# Local traffic only: never let an HTTP(S)_PROXY from the environment see it.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _var in ("NO_PROXY", "no_proxy"):
    _prev = os.environ.get(_var, "")
    os.environ[_var] = ",".join(p for p in (_prev, "127.0.0.1", "localhost") if p)


def pytest_configure(config):
    # The anthropic SDK warns about deprecated model names client-side; the
    # names are only routing keys here.
    config.addinivalue_line(
        "filterwarnings", r"ignore:The model '.*' is deprecated:DeprecationWarning"
    )


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if pytest dies without its teardown."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _binary() -> Path:
    env = os.environ.get("SWITCHYARD_BIN")
    path = (Path(env) if env else REPO_ROOT / "target" / "debug" / "switchyard").resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.exit(
            f"switchyard binary not found at {path} "
            "(build it with `cargo build -p switchyard` or set SWITCHYARD_BIN)",
            returncode=2,
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with _NO_PROXY.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_fetch(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """GET `url`: status, headers (lower-case names) and body; no proxy."""
    try:
        with _NO_PROXY.open(url, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def http_request(method: str, url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with _NO_PROXY.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Process:
    """A child process with its log file, started and waited for with bounds."""

    def __init__(self, name: str, argv: list[str], log: Path, health_url: str):
        self.name = name
        self.argv = argv
        self.log = log
        self.health_url = health_url
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.setdefault("SWITCHYARD_LOG", "info")
        env["NO_COLOR"] = "1"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.log.parent,
                env=env,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT, url: str | None = None) -> bool:
        """True once the health URL (or `url`) answers 200; False if the process died."""
        url = url or self.health_url
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                status, _ = http_get(url, timeout=1.0)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.name} did not answer {url} within {timeout}s\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {self.log})"
        return f"--- {self.name} log ({self.log}) ---\n" + "\n".join(text[-lines:])

    def stop(self) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=SHUTDOWN_TIMEOUT)


def _start(make, attempts: int = 3) -> Process:
    """Start a process on a fresh free port; retry if the port was taken meanwhile."""
    last = None
    for _ in range(attempts):
        proc = make(_free_port())
        proc.start()
        try:
            if proc.wait_healthy():
                return proc
        except Exception:
            proc.stop()
            raise
        last = proc
        proc.stop()
    raise RuntimeError(f"{last.name} failed to start {attempts} times\n{last.log_tail()}")


class Emulator:
    def __init__(self, process: Process, addr: str):
        self.process = process
        self.addr = addr
        self.url = f"http://{addr}"

    def requests(self) -> list[dict]:
        status, body = http_get(f"{self.url}/_mock/requests", timeout=5.0)
        assert status == 200, body
        return json.loads(body)

    def clear(self) -> None:
        http_request("DELETE", f"{self.url}/_mock/requests")


class Gateway:
    def __init__(self, process: Process, addr: str, config: Path, admin_addr: str | None = None):
        self.process = process
        self.addr = addr
        self.url = f"http://{addr}"
        self.config = config
        # The admin listener (`admin: { listen }`: /health, /status, /metrics), if configured.
        self.admin_addr = admin_addr
        self.admin_url = f"http://{admin_addr}" if admin_addr else None


def start_gateway(switchyard_bin: Path, work: Path, render, admin: bool = False) -> Gateway:
    """Start `switchyard serve` with the config `render(gateway_addr, admin_addr)`
    (`admin_addr` is None unless `admin`) on free ports, and wait until the
    gateway, and its admin listener, answer /health. The caller stops
    `gateway.process`."""
    config = work / "switchyard.yaml"
    admin_of: dict[str, str | None] = {}

    def make(port: int) -> Process:
        addr = f"{HOST}:{port}"
        admin_of[addr] = f"{HOST}:{_free_port()}" if admin else None
        config.write_text(render(addr, admin_of[addr]))
        return Process(
            "gateway",
            [str(switchyard_bin), "serve", "--config", str(config)],
            work / "gateway.log",
            f"http://{addr}/health",
        )

    attempts = 3
    for _ in range(attempts):
        proc = _start(make)
        addr = proc.health_url.removeprefix("http://").removesuffix("/health")
        admin_addr = admin_of[addr]
        try:
            # False only if the process died (e.g. the admin port was taken meanwhile).
            if admin_addr is None or proc.wait_healthy(url=f"http://{admin_addr}/health"):
                return Gateway(proc, addr, config, admin_addr)
        except BaseException:
            proc.stop()
            raise
        proc.stop()
    raise RuntimeError(f"gateway admin listener failed to start {attempts} times\n{proc.log_tail()}")


@pytest.fixture(scope="session")
def switchyard_bin() -> Path:
    return _binary()


@pytest.fixture(scope="session")
def emulator(switchyard_bin, tmp_path_factory):
    work = tmp_path_factory.mktemp("emulator")

    def make(port: int) -> Process:
        addr = f"{HOST}:{port}"
        return Process(
            "emulator",
            [str(switchyard_bin), "mock", "--listen", addr],
            work / "emulator.log",
            f"http://{addr}/_mock/health",
        )

    proc = _start(make)
    addr = proc.argv[-1]
    try:
        yield Emulator(proc, addr)
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def gateway(switchyard_bin, emulator, tmp_path_factory):
    work = tmp_path_factory.mktemp("gateway")
    gw = start_gateway(
        switchyard_bin,
        work,
        lambda addr, _admin: CONFIG_TEMPLATE.format(gw=addr, emu=emulator.addr),
    )
    try:
        yield gw
    finally:
        gw.process.stop()


@pytest.fixture
def upstream(emulator):
    """Clears the emulator's request log; `upstream.paths()` lists what reached it."""

    class Upstream:
        def paths(self) -> list[str]:
            return [r.get("path", "") for r in emulator.requests()]

        def assert_dialect(self, model: str, count: int | None = None) -> None:
            want = UPSTREAM_PATH[model]
            paths = self.paths()
            assert paths, "no request reached the emulator"
            assert all(want in p for p in paths), f"expected upstream paths with {want!r}, got {paths}"
            if count is not None:
                assert len(paths) == count, paths

    emulator.clear()
    return Upstream()


@contextlib.contextmanager
def openai_client_for(url, **kw):
    """An official OpenAI client for the gateway at `url`, with no retries of its
    own (every retry seen is the gateway's), closed afterwards."""
    import openai

    client = openai.OpenAI(
        base_url=f"{url}/v1",
        api_key="sk-any-client-key",
        max_retries=0,
        timeout=CLIENT_TIMEOUT,
        **kw,
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def openai_client(gateway):
    with openai_client_for(gateway.url) as client:
        yield client


@pytest.fixture
def anthropic_client(gateway):
    import anthropic

    client = anthropic.Anthropic(
        base_url=gateway.url,
        api_key="sk-ant-any-client-key",
        max_retries=0,
        timeout=CLIENT_TIMEOUT,
    )
    try:
        yield client
    finally:
        client.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tail of the gateway and emulator logs."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        # Every gateway or emulator the test used (by fixture), once each.
        seen = set()
        for name, fx in (getattr(item, "funcargs", None) or {}).items():
            if isinstance(fx, (Gateway, Emulator)) and id(fx.process) not in seen:
                seen.add(id(fx.process))
                report.sections.append((f"{name} log", fx.process.log_tail()))
