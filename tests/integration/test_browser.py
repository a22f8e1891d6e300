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
            _load_hostile_map(db.session)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


# A district name from an imported boundary file that would run script if inserted as HTML.
HOSTILE_NAME = '<img src=x onerror="window.__xss = 1">'
# Records what the Content-Security-Policy blocks: the app's pages should trip none of it.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


def _load_hostile_map(session):
    from shapely.geometry import box
    from sqlalchemy import select

    from server.models import GridCell
    from server.services import grid as grid_service
    from server.services.assignments import create_assignment
    from server.services.users import create_user, find_user
    from tests.factories import as_bytes, feature_collection

    grid_map = grid_service.create_map(session, jurisdiction_code="XSS", name="导入的网格")
    grid_service.import_level(session, grid_map, as_bytes(feature_collection(
        [("X1", HOSTILE_NAME, box(107.0, 39.0, 107.1, 39.1))])), level="district")
    grid_service.activate_map(session, grid_map)
    viewer = create_user(session, username="xss.viewer", role="supervisor",
                         password="demo-2026")
    cell = session.scalar(select(GridCell).where(GridCell.map_id == grid_map.id))
    create_assignment(session, find_user(session, "admin"), user_id=viewer.id, cell_id=cell.id)


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
    page.add_init_script(WATCH_VIOLATIONS)
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
    assert page.evaluate("window.__violations") == []
    page.screenshot(path=str(tmp_path / "map.png"))
    page.close()


def test_cell_name_with_markup_shows_as_text_on_hover_and_runs_nothing(demo_server, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.add_init_script(WATCH_VIOLATIONS)
    sign_in(page, demo_server, "xss.viewer")
    page.wait_for_selector("#cells li")
    page.hover("path.leaflet-interactive")
    tooltip = page.wait_for_selector(".leaflet-tooltip")
    assert tooltip.text_content().startswith(HOSTILE_NAME)
    assert page.locator(".leaflet-tooltip img").count() == 0  # shown as text, no element made
    assert page.locator("#cells li").inner_text().startswith(HOSTILE_NAME)
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__violations") == []
    page.close()


def test_api_docs_render_under_the_content_security_policy(demo_server, browser):
    page = browser.new_page()
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto(f"{demo_server}/api/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 10
    assert page.evaluate("window.__violations") == []
    page.close()


def test_wrong_password_shows_the_error_in_chinese(demo_server, browser):
    page = browser.new_page()
    sign_in(page, demo_server, "wang.coordinator", "wrong-password")
    assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()
    page.close()
