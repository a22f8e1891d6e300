"""Security headers from the app itself, and pages that render data as text."""

import re

from tests.factories import PASSWORD, assign, make_grid, make_user
from tests.pages import sign_in


def directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_pages_allow_scripts_from_the_app_only(client):
    policy = directives(client.get("/login"))
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_pages_forbid_sniffing_framing_and_cross_site_referrers(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_api_responses_carry_the_same_headers(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert directives(response)["script-src"] == ["'self'"]


def test_docs_page_runs_no_inline_script(client):
    response = client.get("/api/docs")
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts), scripts
    assert directives(response)["script-src"] == ["'self'"]


def test_page_templates_have_no_inline_scripts_or_styles(client, db_session):
    make_user(db_session, "coordinator", "wang")
    pages = [client.get("/login").get_data(as_text=True)]
    sign_in(client, "wang")
    pages.append(client.get("/map").get_data(as_text=True))
    for html in pages:
        assert all("src=" in s for s in re.findall(r"<script([^>]*)>", html))
        assert "<style" not in html and " style=" not in html and "onclick" not in html


def test_display_name_is_rendered_as_text_on_the_map_page(client, db_session):
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    from server.services.users import create_user

    user = create_user(db_session, username="evil", role="coordinator", password=PASSWORD,
                       display_name='<img src=x onerror="alert(1)">')
    assign(db_session, admin, user, grid.cells["D1"])
    sign_in(client, "evil")
    page = client.get("/map").get_data(as_text=True)
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "<img" not in page

