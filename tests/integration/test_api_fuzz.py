"""Fuzz every operation of the OpenAPI spec: no generated input makes the API answer 5xx.

schemathesis generates the path, query and body of each operation from the spec; the Flask
test client sends them with an admin's token, so requests get past authentication and reach
the code behind it.
"""

import uuid

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.factories import auth_headers, make_grid, make_user


def _send(client, case, headers):
    body = case.body if isinstance(case.body, (dict, list, str, int, float, bool)) else None
    return client.open(case.formatted_path, method=case.method, query_string=case.query or {},
                       json=body, headers=headers)


def test_no_generated_request_is_a_server_error(app, client, db_session):
    make_grid(db_session)
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    # Revoking the token would turn every later request into a 401 (tested in test_auth).
    operations = [op for op in operations
                  if (op.method.upper(), op.path) != ("DELETE", "/api/v1/auth/token")]
    statuses = set()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            response = _send(client, case, headers)
            if case.formatted_path not in ("/api/v1/auth/token", "/api/v1/devices/"):
                statuses.add(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path, case.query,
                                                response.get_data(as_text=True)[:300])
            if response.status_code >= 400 and response.is_json:
                assert set(response.get_json()["error"]) == {"code", "message", "details"}

        call()
    # The generated requests got past authentication and reached the code behind it.
    assert len({code for code in statuses if code < 300}) >= 2
    assert 401 not in statuses


# Values that broke the API once: integers too long for Python to read or too large for the
# database, booleans (an int in Python), NUL, lone surrogates, names with a trailing newline.
HUGE = "__huge_integer__"  # spliced into the body's text: json.dumps cannot write it
HOSTILE = [HUGE, 2**31, 2**63, 10**30, -(2**31) - 1, 0, -1, True, False, None, 1.5, "1",
           "x\x00", "\x00", "\ud800", "ab" * 32 + "\n", "", [], {}, [True], [2**31], [HUGE]]
HOSTILE_QUERY = ["9" * 5000, str(2**31), str(10**30), "-1", "true", "\x00", "1e400", "", "NaN"]


def hostile_values():
    from hypothesis import strategies as st

    return st.one_of(st.sampled_from(HOSTILE), st.integers(min_value=-(10**40), max_value=10**40))


def _raw_json(body):
    import json

    return json.dumps(body).replace(f'"{HUGE}"', "9" * 5000)


def _json_operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            params = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
            yield method.upper(), path, "application/json" in content, params


def _body_properties(spec, path, method):
    content = spec["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return sorted(schema.get("properties", {})) or ["id"]


def test_hostile_values_in_any_json_body_or_query_are_never_a_server_error(app, client,
                                                                            db_session):
    """Every operation, ids and other fields given huge integers, NULs, booleans and the like."""
    from hypothesis import strategies as st

    make_grid(db_session)
    headers = auth_headers(db_session, make_user(db_session, "admin"))
    spec = client.get("/api/openapi.json").get_json()
    sent = 0
    for method, path, takes_json, params in _json_operations(spec):
        if (method, path) == ("DELETE", "/api/v1/auth/token"):
            continue
        names = _body_properties(spec, path, method) if takes_json else []
        query = [p["name"] for p in params if p.get("in") == "query"]
        path_names = [p["name"] for p in params if p.get("in") == "path"]
        if not names and not query:
            continue

        @given(body=st.dictionaries(st.sampled_from(names or ["id"]), hostile_values(),
                                    min_size=1),
               args=st.dictionaries(st.sampled_from(query or ["x"]),
                                    st.sampled_from(HOSTILE_QUERY)),
               path_value=st.sampled_from(["1", str(2**31), "9" * 30]))
        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(body, args, path_value):
            url = path
            for name in path_names:
                url = url.replace("{" + name + "}", path_value)
            response = client.open(url, method=method, query_string=args if query else {},
                                   data=_raw_json(body) if takes_json else None,
                                   content_type="application/json" if takes_json else None,
                                   headers=headers)
            assert response.status_code < 500, (method, url, body, args,
                                                response.get_data(as_text=True)[:300])
            if response.status_code >= 400:
                assert set(response.get_json()["error"]) == {"code", "message", "details"}

        call()
        sent += 1
    assert sent >= 15


def test_hostile_values_in_pushed_records_reject_only_their_record(app, client, db_session,
                                                                   world):
    """Records built from valid ones with hostile ids, UUIDs, types and photo names, pushed
    by the shared world's coordinator about the clinic in their cell."""
    from hypothesis import strategies as st

    from sync.protocol import RECORD_TYPES
    from tests.factories import inspection_data

    premises = world.clinic
    headers = auth_headers(db_session, world.wang)

    def valid(kind):
        if kind in ("order", "order_move"):
            from tests.factories import load_calendars
            from server.services.followups.deadlines import load_rules
            from server.services.followups.orders import issue_order
            from tests.integration.followups_scene import non_compliant_inspection

            load_calendars(db_session)
            inspection = non_compliant_inspection(db_session, world.admin, premises)
            order = {"inspection_id": inspection.id, "findings": ["MI-01"], "measures": "补办"}
            if kind == "order":
                return order
            issued, _ = issue_order(db_session, world.admin, {
                **order, "client_uuid": str(uuid.uuid4())}, rules=load_rules())
            return {"order_id": issued.id, "move": "report_rectified", "note": "已整改"}
        if kind == "premises_update":
            return {"premises_id": premises.id, "base_version": 1, "contact_phone": "110"}
        data = inspection_data(db_session, premises)
        data["device_time"] = data["device_time"].isoformat()
        if kind == "inspection_revision":
            data.update(corrects_id=1, reason="typo")
        return data

    bases = {kind: valid(kind) for kind in RECORD_TYPES}
    id_keys = ["premises_id", "template_id", "task_id", "corrects_id", "base_version",
               "inspector_ids", "photos", "client_uuid", "inspection_id", "findings", "deadline",
               "order_id", "move", "note"]

    @st.composite
    def records(draw):
        kind = draw(st.sampled_from(RECORD_TYPES))
        data = dict(bases[kind])
        for key in draw(st.lists(st.sampled_from(id_keys), min_size=1, max_size=3)):
            data[key] = draw(hostile_values())
        if draw(st.booleans()) and kind not in ("premises_update", "order", "order_move"):
            items = [dict(item) for item in data["items"]]
            items[0]["photos"] = [draw(hostile_values())]
            data["items"] = items
        envelope = {"type": kind, "client_uuid": draw(st.uuids()).__str__(), "data": data}
        if draw(st.integers(0, 4)) == 0:
            envelope[draw(st.sampled_from(["type", "client_uuid"]))] = draw(hostile_values())
        return envelope

    @given(batch=st.lists(records(), min_size=1, max_size=4))
    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(batch):
        response = client.post("/api/v1/sync/push", data=_raw_json({"records": batch}),
                               content_type="application/json", headers=headers)
        if HUGE in str(batch):
            assert response.status_code == 400
            assert response.get_json()["error"]["code"] == "bad_json"
            return
        assert response.status_code == 200, (batch, response.get_data(as_text=True)[:300])
        results = response.get_json()["results"]
        assert len(results) == len(batch)
        assert all(r["status"] in ("created", "duplicate", "rejected", "conflict")
                   for r in results)

    call()
