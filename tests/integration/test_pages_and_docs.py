"""API docs served locally, the health check, sign-in pages and the scoped map data."""

import re

from tests.factories import PASSWORD, assign, make_grid, make_user
from tests.pages import csrf_token


def test_openapi_spec_documents_the_api_with_bearer_auth(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_ui_loads_only_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Swagger UI from the bundled package; its start-up script from the app's own assets.
    assert assets and all(a.startswith(("/api/docs/assets/", "/assets/")) for a in assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and response.data
        response.close()


def test_health_check_reports_the_database(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_unknown_route_is_a_json_error(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_map_page_needs_a_sign_in(client):
    response = client.get("/map")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/map/cells.geojson").status_code == 401


def test_wrong_password_on_the_page_is_refused(client, db_session):
    make_user(db_session, "coordinator", "wang")
    response = client.post("/login", data={"username": "wang", "password": "nope",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_signed_in_coordinator_sees_only_their_cells_on_the_map(client, db_session):
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    coordinator = make_user(db_session, "coordinator", "wang")
    assign(db_session, admin, coordinator, grid.cells["D2001"])
    response = client.post("/login", data={"username": "wang", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    page = client.get("/map")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.get_data(as_text=True))
    assert any(a.endswith("leaflet.js") for a in assets) and any(a.endswith("map.js") for a in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()
    features = client.get("/map/cells.geojson").get_json()["features"]
    assert sorted(f["properties"]["code"] for f in features) == ["D2001", "D2001001", "D2001002"]
