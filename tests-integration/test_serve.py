"""`meow-chat serve` as a user runs it: the real command, a real browser, and 32 clients at once.

The server is the installed console script in its own process. Chromium (Debian's, driven
through its own chromedriver by Selenium, nothing downloaded) opens the chat page at phone
width, says "hi miso" and watches the reply stream in; a screenshot is kept under
test-artifacts/. The load test checks every reply of 640 requests, streamed and not.
"""

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from integration_helpers import BIN, ROOT

from meow_chat import bundled_model_dir
from meow_model import SamplingConfig, load_pretrained, stream

ARTIFACTS = Path(os.environ.get("MEOW_TEST_ARTIFACTS", ROOT / "test-artifacts"))


class ServeProcess:
    """`meow-chat serve --port 0 ...` in a subprocess; `url` from the line it prints."""

    def __init__(self, *args: str):
        exe = shutil.which("meow-chat", path=str(BIN))
        assert exe, "meow-chat is not installed"
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [exe, "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline()
        assert "is listening on http://" in line, line + self.proc.stderr.read()
        self.url = line.split("listening on ")[1].split()[0]
        deadline = time.monotonic() + 60
        while not self._healthy():
            assert time.monotonic() < deadline, "no healthy /health within 60 s"
            time.sleep(0.02)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health").status_code == 200
        except httpx.TransportError:  # not listening yet
            return False

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err


@pytest.fixture(scope="module")
def server():
    proc = ServeProcess()
    yield proc
    proc.stop()


def test_a_public_address_without_a_key_is_warned_about():
    proc = ServeProcess("--host", "0.0.0.0")
    assert "http://0.0.0.0:" in proc.url
    assert "without an API key" in proc.stop()
    keyed = ServeProcess("--host", "0.0.0.0", "--api-key", "k")
    assert "without an API key" not in keyed.stop()


def test_a_missing_model_is_one_clear_line(tmp_path):
    exe = shutil.which("meow-chat", path=str(BIN))
    out = subprocess.run([exe, "serve", "--model", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 1 and "cannot load model" in out.stderr
    assert "Traceback" not in out.stderr


def test_32_clients_get_every_reply_whole_and_unmixed(server):
    """32 clients x 20 requests, alternating streamed and not: no error, no lost or mixed stream."""
    miso = load_pretrained(bundled_model_dir())
    prompts = ["hi miso", "are you hungry", "the vacuum is out", "do you like boxes"]

    def expected(prompt: str, seed: int) -> str:
        return "".join(
            stream(miso.model, miso.tokenizer, prompt, SamplingConfig(seed=seed, max_new_tokens=24))
        )

    def client(k: int) -> list[str]:
        problems = []
        with httpx.Client(timeout=120) as http:
            for j in range(20):
                seed, prompt = k * 100 + j, prompts[(k + j) % len(prompts)]
                body = {"model": "miso", "messages": [{"role": "user", "content": prompt}],
                        "seed": seed, "max_tokens": 24, "stream": j % 2 == 1}  # fmt: skip
                want = expected(prompt, seed)
                if not body["stream"]:
                    r = http.post(f"{server.url}/v1/chat/completions", json=body)
                    if r.status_code != 200 or r.json()["choices"][0]["message"]["content"] != want:
                        problems.append(f"{seed}: {r.status_code} {r.text[:200]}")
                    continue
                with http.stream("POST", f"{server.url}/v1/chat/completions", json=body) as r:
                    events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
                chunks = [json.loads(e) for e in events[:-1]]
                text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
                if (
                    r.status_code != 200
                    or events[-1] != "[DONE]"
                    or len({c["id"] for c in chunks}) != 1
                    or chunks[-1]["choices"][0]["finish_reason"] not in ("stop", "length")
                    or text != want
                ):
                    problems.append(f"{seed}: stream {r.status_code} {text!r} != {want!r}")
        return problems

    with ThreadPoolExecutor(32) as pool:
        problems = [p for found in pool.map(client, range(32)) for p in found]
    assert problems == []
    health = httpx.get(f"{server.url}/health").json()
    assert health["served"] >= 640 and health["rejected_busy"] == 0 and health["active"] == 0


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_exe = shutil.which("chromedriver")
    if not (chromium and driver_exe):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    # a phone's viewport (headless windows cannot be narrower than 500 px)
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3}}
    )
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_exe))
    yield driver
    driver.quit()


def test_the_chat_page_streams_a_reply_in_a_real_browser(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    proc = ServeProcess()
    try:
        browser.get(proc.url)
        assert browser.title.startswith("Miso")
        assert browser.execute_script("return window.innerWidth") == 390
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
        ), "the page scrolls sideways at phone width"
        # count the reply's updates: a streamed reply grows piece by piece
        browser.execute_script("""
            window.updates = 0;
            new MutationObserver(() => window.updates++).observe(
                document.getElementById('log'), {childList: true, subtree: true, characterData: true});
        """)  # fmt: skip
        browser.find_element(By.ID, "prompt").send_keys("hi miso")
        browser.find_element(By.ID, "send").click()
        wait = WebDriverWait(browser, 60)
        reply = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".msg.miso:not(.pending)"))
        assert reply.text.strip() and reply.text != "…"
        assert browser.execute_script("return window.updates") > 3
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "chat-page.png"))
    finally:
        proc.stop()
    browser.find_element(By.ID, "prompt").send_keys("are you still there")
    browser.find_element(By.ID, "send").click()
    banner = WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.ID, "banner").text and b.find_element(By.ID, "banner")
    )
    assert "Cannot reach the Miso server" in banner.text
    browser.save_screenshot(str(ARTIFACTS / "chat-page-unreachable.png"))
