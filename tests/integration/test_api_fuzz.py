"""Fuzz every operation of the OpenAPI spec: no generated input makes the API answer 5xx.

schemathesis generates the path, query and body of each operation from the spec; the Flask
test client sends them with an admin's token, so requests get past authentication and reach
the code behind it.
"""

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
