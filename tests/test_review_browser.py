"""The review pages in a real browser (Playwright driving Debian's chromium): a reviewer logs in, corrects a
suggestion, finds it in the audit trail and on the dashboard; hostile complaint text never executes."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest
import uvicorn

from serving.app import create_app
from serving.users import Users
from tests.serving_helpers import make_keys, serving_settings

pytestmark = pytest.mark.slow

HOSTILE = 'Lampu mati <script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> tolong'


def chromium_path() -> str:
    path = os.environ.get("TRIASE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("TRIASE_REQUIRE_BROWSER") == "1":
        pytest.fail("no chromium found; `make browser` installs Debian's chromium")
    pytest.skip("no chromium on this machine (`make browser` installs it); set TRIASE_CHROMIUM to use another")


@pytest.fixture(scope="module")
def live(store, tmp_path_factory):
    """The whole service on a real port, with one model, an intake key and a reviewer."""
    root = tmp_path_factory.mktemp("browser")
    settings = serving_settings(store[0], root)
    keys = make_keys(settings)
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while app.state.service.holder.current is None and time.monotonic() < deadline:
        time.sleep(0.1)
    Users(app.state.db).create("ani", "sandi-ani-123", "reviewer")
    yield f"http://127.0.0.1:{port}", app, keys
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def submit_complaint(live, text: str) -> None:
    import httpx

    base, app, keys = live
    response = httpx.post(f"{base}/v1/predict", json={"text": text}, headers={"X-API-Key": keys.intake})
    assert response.status_code == 200
    assert app.state.service.recorder.wait_idle()


def log_in(page, base: str) -> None:
    page.goto(f"{base}/review")
    assert "/review/login" in page.url
    page.fill("input[name=username]", "ani")
    page.fill("input[name=password]", "sandi-ani-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/review")


def test_reviewer_corrects_a_suggestion_and_sees_it_in_audit_trail_and_dashboard(live, browser):
    base = live[0]
    submit_complaint(live, "Jalan di depan SD Negeri Tiban berlubang dalam, tiap hujan motor tergelincir")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, base)
    page.click("td.excerpt a >> nth=0")
    page.wait_for_selector("#complaint-text")
    assert page.locator("#complaint-text mark").count() >= 1
    page.select_option("#opd", "perhubungan")
    page.select_option("#urgency", "tinggi")
    page.fill("textarea[name=note]", "uji peramban: dialihkan")
    page.click("#save-correction")
    page.wait_for_selector("#decision")
    assert "perhubungan" in page.inner_text("#decision") and "dikoreksi" in page.inner_text("#decision")
    trail = page.inner_text("#audit")
    assert "ani" in trail and "koreksi" in trail and "uji peramban: dialihkan" in trail

    page.click("text=Dasbor")
    page.wait_for_selector("#reviewed")
    assert int(page.inner_text("#reviewed")) >= 1
    assert page.inner_text("#agreement-rate").endswith("%")
    assert page.locator("svg.chart").count() >= 3
    assert not errors

    phone = browser.new_page(viewport={"width": 390, "height": 800})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{base}/review")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 392, "the queue fits a phone screen"
    phone.close()
    page.close()


def test_hostile_complaint_text_is_shown_not_executed(live, browser):
    base = live[0]
    submit_complaint(live, HOSTILE)
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, base)
    page.fill("input[name=q]", "window.pwned")
    page.click("text=Saring")
    page.click("td.excerpt a >> nth=0")
    page.wait_for_selector("#complaint-text")
    assert page.inner_text("#complaint-text").startswith("Lampu mati <script>window.pwned = 1</script>")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#complaint-text script, #complaint-text img").count() == 0
    assert not dialogs
    page.close()
