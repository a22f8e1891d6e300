"""The pages in a real browser: Debian's Chromium driven by Playwright.

A second app on its own SQLite + SpatiaLite file with the demo data is served from a thread;
the socket listens before the browser starts, so nothing waits or polls.
"""

import os
import shutil
import threading

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [
    pytest.mark.skipif(os.environ.get("DATABASE_URL") is not None,
                       reason="pages are checked once, on the SQLite pass"),
]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is missing: apt-get install chromium fonts-noto-cjk (make setup-test)")
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from server import create_app
    from server.config import TestConfig
    from server.db import transaction
    from server.extensions import db
    from server.services.demo import load_demo

    folder = tmp_path_factory.mktemp("browser")
    app = create_app(TestConfig(f"sqlite:///{folder / 'demo.sqlite3'}"))
    with app.app_context():
        upgrade()
        with transaction():
            load_demo(db.session)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def sign_in(page, base, username, password="demo-2026"):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_district_supervisor_sees_their_district_drawn_on_the_map(demo_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    sign_in(page, demo_server, "haibowan.supervisor")
    page.wait_for_selector("#cells li")
    # 1 district + 3 streets + 9 communities, each drawn as a polygon and listed.
    assert page.locator("#cells li").count() == 13
    assert page.locator("path.leaflet-interactive").count() == 13
    assert "海勃湾区" in page.locator("#cells").inner_text()
    assert "刘科长" in page.locator("header").inner_text()
    assert failed == []
    page.screenshot(path=str(tmp_path / "map.png"))
    page.close()


def test_wrong_password_shows_the_error_in_chinese(demo_server, browser):
    page = browser.new_page()
    sign_in(page, demo_server, "wang.coordinator", "wrong-password")
    assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()
    page.close()
