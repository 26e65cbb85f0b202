"""The web console in a real headless Chromium (`bash tests/console/run.sh`).

One emulator (`switchyard mock`, which accepts only the "good" tokens, so the
"bad" one gets 401) and one gateway (a temp config file with an admin token,
`watchConfig: false`) on free 127.0.0.1 ports. In the browser, as an operator
would: log in with the admin token, add a provider with a good and a bad
token (failover after one failure), add a route with a fallback target, send
a streamed chat from the Playground and watch the answer arrive in pieces,
see the bad token out of rotation on the Providers page, the request on the
Requests page, the traffic charts, and a consumer's new key shown once. The
config file on disk must then hold the new provider and route, and the
browser console must hold no error.

A screenshot of every page is written to target/console-screenshots/.
Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOTS = REPO_ROOT / "target" / "console-screenshots"
HOST = "127.0.0.1"
ADMIN_TOKEN = "adm-console-test-0123456789"
GOOD = "sk-good-00000001"
BAD = "sk-bad-00000002"
SEED = "sk-seed-00000003"
EXTRA = "sk-extra-00000004"
WAIT = 15.0

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(p for p in (os.environ.get(_var, ""), "127.0.0.1", "localhost") if p)


def _binary() -> Path:
    env = os.environ.get("SWITCHYARD_BIN")
    path = (Path(env) if env else REPO_ROOT / "target" / "debug" / "switchyard").resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.exit(f"switchyard binary not found at {path} (cargo build -p switchyard, or set SWITCHYARD_BIN)", returncode=2)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with _NO_PROXY.open(req, timeout=2.0) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _put(url: str, body: bytes) -> None:
    req = urllib.request.Request(url, data=body, method="PUT", headers={"content-type": "application/json"})
    with _NO_PROXY.open(req, timeout=2.0) as r:
        assert r.status < 300, r.status


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:
        pass


class Proc:
    def __init__(self, name: str, argv: list[str], log: Path):
        self.name, self.log = name, log
        with open(log, "ab") as out:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                      cwd=log.parent, preexec_fn=_die_with_parent)

    def wait_ok(self, url: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError(f"{self.name} exited\n{self.tail()}")
            try:
                if _get(url)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout}s\n{self.tail()}")

    def tail(self) -> str:
        try:
            return f"--- {self.name} log ---\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The emulator and a gateway whose config the console edits."""
    binary = _binary()
    work = tmp_path_factory.mktemp("console")
    emu_addr = f"{HOST}:{_free_port()}"
    emu = Proc("emulator", [str(binary), "mock", "--listen", emu_addr, "--accept-tokens", f"{GOOD},{SEED}",
                            "--stream-chunks", "8", "--chunk-delay", "120ms"], work / "emulator.log")
    gw = None
    try:
        emu.wait_ok(f"http://{emu_addr}/_mock/requests")
        gw_addr, admin_addr = f"{HOST}:{_free_port()}", f"{HOST}:{_free_port()}"
        config = work / "switchyard.yaml"
        config.write_text(f"""\
server: {{ listen: "{gw_addr}", watchConfig: false }}
admin: {{ listen: "{admin_addr}", token: "{ADMIN_TOKEN}" }}
providers:
  - {{ id: backup, type: openai, baseUrl: "http://{emu_addr}", apiTokens: ["{SEED}"] }}
routes:
  - {{ name: backup, models: ["backup-*"], provider: backup }}
""")
        gw = Proc("gateway", [str(binary), "serve", "--config", str(config)], work / "gateway.log")
        gw.wait_ok(f"http://{gw_addr}/health")
        gw.wait_ok(f"http://{admin_addr}/health")
        yield {"emu": f"http://{emu_addr}", "admin": f"http://{admin_addr}", "config": config, "gw": gw, "emu_proc": emu}
    finally:
        if gw:
            gw.stop()
        emu.stop()


@pytest.fixture(scope="module")
def open_gateway(tmp_path_factory):
    """A gateway whose admin listener has no token (so it stays on loopback)."""
    binary = _binary()
    work = tmp_path_factory.mktemp("console-open")
    gw_addr, admin_addr = f"{HOST}:{_free_port()}", f"{HOST}:{_free_port()}"
    config = work / "switchyard.yaml"
    config.write_text(f"""\
server: {{ listen: "{gw_addr}", watchConfig: false }}
admin: {{ listen: "{admin_addr}" }}
providers:
  - {{ id: solo, type: openai, baseUrl: "http://127.0.0.1:9", apiTokens: ["sk-solo-00000001"] }}
""")
    gw = Proc("gateway", [str(binary), "serve", "--config", str(config)], work / "gateway.log")
    try:
        gw.wait_ok(f"http://{admin_addr}/health")
        yield f"http://{admin_addr}"
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def browser():
    chromedriver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromedriver:
        pytest.exit("chromedriver not found (apt-get install chromium chromium-driver)", returncode=2)
    opts = webdriver.ChromeOptions()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-proxy-server",
              "--window-size=1440,1000", "--disable-extensions", "--no-first-run", "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=opts)
    driver.set_page_load_timeout(WAIT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


# ---- helpers -----------------------------------------------------------------

def wait(driver, cond, timeout: float = WAIT, what: str = ""):
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(cond, what)


def el(driver, css: str, timeout: float = WAIT):
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"visible {css}")


def typed(driver, css: str, text: str):
    e = el(driver, css)
    e.clear()
    e.send_keys(text)
    return e


def click(driver, css: str):
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, css)), WAIT, f"clickable {css}").click()


def shot(driver, name: str) -> None:
    """The whole page (the window grown to its height for the picture)."""
    driver.execute_script("document.getElementById('toast').hidden = true")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    if height > 1000:
        driver.execute_script("window.scrollTo(0, 0)")
        driver.set_window_size(1440, min(height + 100, 4000))
    time.sleep(0.3)  # let a repaint land
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    if height > 1000:
        driver.set_window_size(1440, 1000)


def go(driver, page: str) -> None:
    driver.execute_script("location.hash = arguments[0]", f"#/{page}")
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f'#nav a[data-page="{page}"]').get_attribute("class") == "active",
         what=f"page {page}")


def apply_dry_run(driver, shot_name: str | None = None, closes: bool = True) -> list[str]:
    """The dialog after a dry run: its changes, then Apply (after which the
    dialog closes, unless it `closes=False` to show something else)."""
    el(driver, "#dialog[open] #dialog-ok")
    changes = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#dialog-body .changes li")]
    if shot_name:
        shot(driver, shot_name)
    click(driver, "#dialog-ok")
    if closes:
        wait(driver, lambda d: not d.find_element(By.ID, "dialog").get_attribute("open"), what="dialog closed")
    return changes


def browser_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


# ---- the walk-through ----------------------------------------------------------

def test_console_end_to_end(stack, browser):
    try:
        walk(browser, stack)
    except BaseException:
        # What the browser showed and said, for the failure report.
        try:
            browser.save_screenshot(str(SHOTS / "failure.png"))
            print("screenshot: target/console-screenshots/failure.png")
            print("browser console:", json.dumps(browser.get_log("browser"), indent=2))
        except Exception:
            pass
        print(stack["gw"].tail())
        raise


def walk(d, stack) -> None:
    admin = stack["admin"]

    # The page and its assets are served without the token, with a strict CSP;
    # the data is not.
    status, _ = _get(f"{admin}/admin/providers")
    assert status == 401
    req = urllib.request.Request(f"{admin}/")
    with _NO_PROXY.open(req, timeout=2.0) as r:
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-cache"

    # Login.
    d.get(f"{admin}/")
    el(d, "#login-token")
    shot(d, "login")
    typed(d, "#login-token", ADMIN_TOKEN).submit()
    el(d, '[data-provider="backup"]')
    assert d.execute_script("return sessionStorage.getItem('switchyard.adminToken')") == ADMIN_TOKEN
    assert d.execute_script("return localStorage.length") == 0
    el(d, '[data-provider="backup"]')

    # Providers: add one with a good and a bad token, failover after one failure.
    click(d, "#provider-add")
    Select(el(d, "#pf-type")).select_by_value("openai")
    typed(d, "#pf-id", "emu")
    typed(d, "#pf-baseUrl", stack["emu"])
    typed(d, "#pf-tokens", f"{GOOD}\n{BAD}")
    Select(el(d, "#pf-tokenSelection")).select_by_value("round-robin")
    click(d, "#pf-failover")
    typed(d, "#pf-failureThreshold", "1")
    typed(d, "#pf-healthCheckModel", "gpt-4o-mini")
    typed(d, "#pf-healthCheckInterval", "60s")
    click(d, "#pf-retry")
    typed(d, "#pf-maxRetries", "1")
    shot(d, "provider-form")
    click(d, "#pf-save")
    changes = apply_dry_run(d, "provider-dry-run")
    assert any("emu" in c for c in changes), changes
    card = el(d, '[data-provider="emu"]')
    # Tokens are shown masked, never whole.
    wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, '[data-health="emu"] tr[data-state]')) == 2, what="2 credentials")
    assert GOOD not in d.page_source and BAD not in d.page_source
    assert "failover" in card.text

    # Routes: gpt-* to the new provider, falling back to the seed one.
    go(d, "routes")
    click(d, "#route-add")
    typed(d, "#rf-name", "chat")
    typed(d, "#rf-models", "gpt-*")
    Select(el(d, "#rf-provider")).select_by_value("emu")
    click(d, "#rf-add-target")
    Select(el(d, "#rf-fb-provider-0")).select_by_value("backup")
    typed(d, "#rf-fb-model-0", "backup-model")
    click(d, "#rf-save")
    changes = apply_dry_run(d)
    assert any("chat" in c for c in changes), changes
    row = el(d, 'tr[data-route="chat"]')
    assert "backup / backup-model" in row.text
    # Routes match in order: move the new one first.
    click(d, 'tr[data-route="chat"] button.move-up')
    note = el(d, "#dialog-body p.mono").text
    assert note == "Order: backup, chat → chat, backup", note
    apply_dry_run(d)
    wait(d, lambda _: [r.get_attribute("data-route") for r in d.find_elements(By.CSS_SELECTOR, "#route-table tr[data-route]")] == ["chat", "backup"],
         what="chat first")
    shot(d, "routes")

    # Playground: a streamed answer arrives in pieces. Round-robin over two
    # tokens: two requests try both, so the bad one fails once (and the
    # retry serves the answer with the good one).
    go(d, "playground")
    assert el(d, "#pg-stream").is_selected(), "stream is on by default"
    for i in range(2):
        typed(d, "#pg-model", "gpt-4o-mini")
        typed(d, "#pg-message", f"Hello from the console test, round {i + 1}")
        before = d.find_element(By.ID, "pg-output").text
        click(d, "#pg-send")
        seen = set()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            text = d.find_element(By.ID, "pg-output").text
            if text and text != before:
                seen.add(text)
            if d.find_element(By.ID, "pg-status").get_attribute("data-done") == "true" and not d.find_element(By.ID, "pg-send").get_attribute("disabled"):
                break
            time.sleep(0.02)
        else:
            pytest.fail("the playground answer did not complete\n" + d.find_element(By.ID, "pg-status").text)
        final = d.find_element(By.ID, "pg-output").text
        assert final.strip(), "an answer"
        partial = [t for t in seen if t != final]
        assert len(partial) >= 2, f"the answer should arrive in pieces, saw {len(seen)} states: {seen}"
        assert all(final.startswith(t) for t in partial)
        meta = el(d, "#pg-meta").text
        assert "emu" in meta, meta
    shot(d, "playground")

    # Providers: the bad token is out of rotation, with its error and the
    # countdown to its next probe.
    go(d, "providers")
    bad_row = el(d, '[data-health="emu"] tr[data-state="out"]')
    assert "401" in bad_row.text, bad_row.text
    assert "next probe in" in bad_row.text or "out for" in bad_row.text, bad_row.text
    good_rows = d.find_elements(By.CSS_SELECTOR, '[data-health="emu"] tr[data-state="healthy"]')
    assert len(good_rows) == 1
    shot(d, "providers")

    # Edit it: a bad value is refused with the problem next to its field;
    # a good change is previewed field by field.
    click(d, '[data-provider="emu"] button.edit')
    assert len(d.find_elements(By.CSS_SELECTOR, "#pf-token-list li[data-token-index]")) == 2
    typed(d, "#pf-healthCheckInterval", "soon")
    click(d, "#pf-save")
    err = el(d, "#pf-healthCheckInterval + .field-error")
    problems = el(d, "#provider-form .problems").text
    assert "healthCheckInterval" in problems, problems
    assert err.text, "the problem is shown next to the field"
    shot(d, "provider-problems")
    # The refused dry run is the only error so far (Chromium logs the 400).
    errors = browser_errors(d)
    unexpected = [e for e in errors if not (e.get("source") == "network" and "/admin/providers/emu?dryRun=true" in e["message"] and "400" in e["message"])]
    assert not unexpected and len(errors) == 1, "browser console errors:\n" + json.dumps(errors, indent=2)
    typed(d, "#pf-healthCheckInterval", "60s")
    typed(d, "#pf-maxRetries", "2")
    click(d, "#pf-save")
    changes = apply_dry_run(d, "provider-edit-dry-run")
    assert any("retryOnFailure.maxRetries: 1 → 2" in c for c in changes), changes
    el(d, '[data-provider="emu"]')
    assert "retries 2" in el(d, '[data-provider="emu"]').text

    # One token added, then removed, on its own.
    click(d, '[data-provider="emu"] button.edit')
    typed(d, "#pf-new-token", EXTRA)
    click(d, "#pf-add-token")
    changes = apply_dry_run(d)
    assert changes, "the dry run names the change"
    wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#pf-token-list li[data-token-index]")) == 3, what="3 tokens")
    assert EXTRA not in d.page_source, "a token is shown masked once added"
    click(d, '#pf-token-list li[data-token-index="2"] button')
    apply_dry_run(d)
    wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#pf-token-list li[data-token-index]")) == 2, what="2 tokens")
    wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, '[data-health="emu"] tr[data-state]')) == 2, what="2 credentials")

    # Requests: the chats are listed; a click shows the attempts, the 401 one included.
    go(d, "requests")
    wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#request-table tr[data-request]")) >= 2, what="2 requests")
    rows = d.find_elements(By.CSS_SELECTOR, "#request-table tr[data-request]")
    texts = [r.text for r in rows]
    assert all("gpt-4o-mini" in t and "emu" in t for t in texts[:2]), texts
    # The request whose first attempt met the bad token.
    for i in range(len(rows)):
        row = d.find_elements(By.CSS_SELECTOR, "#request-table tr[data-request]")[i]
        row.click()
        detail = el(d, "#request-table tr.detail")
        if "401" in detail.text:
            break
        row = d.find_elements(By.CSS_SELECTOR, "#request-table tr[data-request]")[i]
        row.click()
        wait(d, lambda _: not d.find_elements(By.CSS_SELECTOR, "#request-table tr.detail"), what="detail closed")
    else:
        pytest.fail("no request shows the attempt refused with 401")
    assert "Attempts (2)" in detail.text, detail.text
    # Why it went where it went, in words: the route, the refused token, the retry.
    why = detail.find_element(By.CSS_SELECTOR, ".why").text
    assert "Route “" in why and "HTTP 401, so it retried" in why, why
    shot(d, "requests")

    # Traffic: the charts count the requests.
    go(d, "traffic")
    wait(d, lambda _: len(d.find_elements(By.CSS_SELECTOR, "#traffic-charts svg")) >= 4, what="charts")
    totals = el(d, "#traffic-totals").text
    assert totals.split("\n")[0].strip() not in ("0", "–"), totals
    assert d.find_elements(By.CSS_SELECTOR, "#traffic-charts rect.bar"), "bars drawn"
    shot(d, "traffic")

    # Consumers: a new consumer; its key is shown once.
    go(d, "consumers")
    click(d, "#consumer-add")
    typed(d, "#cf-name", "team-a")
    typed(d, "#cf-models", "gpt-*")
    typed(d, "#cf-requestsPerMinute", "600")
    typed(d, "#cf-budget-usd", "25")
    typed(d, "#cf-budget-period", "30d")
    click(d, "#cf-save")
    changes = apply_dry_run(d, closes=False)
    assert any("team-a" in c for c in changes), changes
    key = el(d, "#new-key").text
    assert key.startswith("sy-") and len(key) > 20, key
    shot(d, "consumer-key")
    click(d, "#dialog-ok")
    row = el(d, 'tr[data-consumer="team-a"]')
    assert key not in d.page_source
    assert "of $25.00" in row.text, row.text

    # A rate-limit rule counted per user header.
    click(d, "#rl-add")
    typed(d, "#rl-name", "per-user")
    Select(el(d, "#rl-by-kind")).select_by_value("header")
    typed(d, "#rl-by-name", "x-user-id")
    typed(d, "#rl-tokensPerMinute", "20000")
    click(d, "#rl-save")
    changes = apply_dry_run(d)
    assert any("per-user" in c for c in changes), changes
    rule = el(d, 'tr[data-rule="per-user"]')
    assert "header:x-user-id" in rule.text and "20,000 tokens/minute" in rule.text, rule.text
    shot(d, "consumers")

    # With a consumer, the Playground needs its key (sent as x-api-key);
    # this time without streaming.
    go(d, "playground")
    typed(d, "#pg-model", "gpt-4o-mini")
    typed(d, "#pg-key", key)
    click(d, "#pg-stream")
    click(d, "#pg-send")
    wait(d, lambda _: d.find_element(By.ID, "pg-status").get_attribute("data-done") == "true", what="answer")
    assert "You said" in el(d, "#pg-output").text
    go(d, "requests")
    wait(d, lambda _: "team-a" in d.find_element(By.CSS_SELECTOR, "#request-table tr[data-request]").text, what="team-a's request")
    typed(d, "#req-filter", "team-a")
    rows = d.find_elements(By.CSS_SELECTOR, "#request-table tr[data-request]")
    assert len(rows) == 1 and "team-a" in rows[0].text, [r.text for r in rows]

    # The good token goes down too: the route's fallback serves, and says so.
    _put(f"{stack['emu']}/_mock/tokens/{GOOD}", b'"Unavailable"')
    go(d, "playground")
    typed(d, "#pg-model", "gpt-4o-mini")
    typed(d, "#pg-key", key)
    click(d, "#pg-send")
    wait(d, lambda _: d.find_element(By.ID, "pg-status").get_attribute("data-done") == "true", what="answer")
    meta = el(d, "#pg-meta").text
    assert "fallback from" in meta and "emu/gpt-4o-mini" in meta and "backup-model" in meta, meta
    shot(d, "playground-fallback")
    go(d, "requests")
    wait(d, lambda _: "fallback" in d.find_element(By.CSS_SELECTOR, "#request-table tr[data-request]").text, what="a fallback")

    # The config file holds what was added.
    on_disk = stack["config"].read_text()
    for want in ("emu", stack["emu"], "chat", "gpt-*", "backup-model", "team-a", "failureThreshold", GOOD, BAD, "per-user", "header:x-user-id"):
        assert want in on_disk, f"{want!r} missing from the config file:\n{on_disk}"
    assert key not in on_disk, "the file keeps the key's digest, not the key"
    assert EXTRA not in on_disk, "the removed token is gone"

    # No error in the browser console all along.
    errors = browser_errors(d)
    assert not errors, "browser console errors:\n" + json.dumps(errors, indent=2)

    # A wrong token goes back to the login screen with a message.
    d.execute_script("sessionStorage.setItem('switchyard.adminToken', 'wrong'); location.hash = '#/routes'")
    msg = el(d, "#login-message")
    assert "refused" in msg.text, msg.text
    assert d.execute_script("return sessionStorage.getItem('switchyard.adminToken')") is None
    # The only errors now: the refused calls themselves.
    errors = [e for e in browser_errors(d) if "401" not in e.get("message", "")]
    assert not errors, "browser console errors:\n" + json.dumps(errors, indent=2)


def test_no_login_without_an_admin_token(open_gateway, browser):
    d = browser
    d.execute_script("sessionStorage.clear()")
    d.get(f"{open_gateway}/")
    el(d, '[data-provider="solo"]')
    assert not d.find_element(By.ID, "login").is_displayed()
    assert not d.find_element(By.ID, "logout").is_displayed()
    errors = browser_errors(d)
    assert not errors, "browser console errors:\n" + json.dumps(errors, indent=2)
