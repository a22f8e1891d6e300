"""The recheck result (整改复查意见书): issued once per order after its recheck, numbered with its
own prefix, a PDF with the findings before and after, and the public verification page."""

import re

import pytest
from sqlalchemy import func, select

from server.models import AuditEvent, Document
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    FINDINGS,
    headers,
    issue,
    scene,
)
from tests.integration.test_followups_documents import pdf_text
from tests.integration.test_followups_recheck import recheck_body

ORDERS = "/api/v1/followups/orders/"
DOCUMENTS = "/api/v1/followups/documents/"


@pytest.fixture(autouse=True)
def office(app, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_OFFICE_PREFIX", "乌卫监意")
    monkeypatch.setitem(app.config, "DOCUMENT_RECHECK_PREFIX", "乌卫监复")
    monkeypatch.setitem(app.config, "DOCUMENT_OFFICE_NAME", "乌海市卫生健康综合监督执法局")
    monkeypatch.setitem(app.config, "DOCUMENT_OFFICE_CODE", "wuhai")


def rechecked(client, db_session, scene, headers, results=None):
    order = issue(db_session, scene)
    response = client.post("/api/v1/inspections/", json=recheck_body(db_session, order, results),
                           headers=headers["li"])
    assert response.status_code == 201, response.get_json()
    return order


def test_a_recheck_result_is_issued_once_with_its_own_prefix(client, db_session, scene, headers):
    order = rechecked(client, db_session, scene, headers)
    first = client.post(f"{ORDERS}{order.id}/recheck/document", headers=headers["li"])
    assert first.status_code == 201, first.get_json()
    document = first.get_json()
    assert (document["kind"], document["number"], document["order_id"]) == \
        ("recheck_result", "乌卫监复〔2026〕第0001号", order.id)
    assert document["kind_label"] == {"zh": "整改复查意见书", "en": "Rectification recheck result"}
    again = client.post(f"{ORDERS}{order.id}/recheck/document", headers=headers["li"])
    assert (again.status_code, again.get_json()) == (200, document)
    # The order's own document is another kind, numbered on its own counter.
    opinion = client.post(f"{ORDERS}{order.id}/document", headers=headers["li"]).get_json()
    assert opinion["number"] == "乌卫监意〔2026〕第0001号"
    assert db_session.scalar(select(func.count(Document.id))) == 2
    assert db_session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "document.issue")) == 2


def test_before_the_recheck_there_is_no_result_to_issue(client, db_session, scene, headers):
    order = issue(db_session, scene)
    response = client.post(f"{ORDERS}{order.id}/recheck/document", headers=headers["li"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "recheck_not_done"
    assert response.get_json()["error"]["details"] == {"state": "issued"}
    assert db_session.scalar(select(func.count(Document.id))) == 0


def test_out_of_scope_is_404_and_a_coordinator_may_not_issue(client, db_session, scene, headers):
    order = rechecked(client, db_session, scene, headers)
    assert client.post(f"{ORDERS}{order.id}/recheck/document",
                       headers=headers["other_chief"]).status_code == 404
    refused = client.post(f"{ORDERS}{order.id}/recheck/document", headers=headers["wang"])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "role_required")
    assert db_session.scalar(select(func.count(Document.id))) == 0


@pytest.mark.parametrize("layout", ["a4", "80mm"])
def test_the_pdf_shows_each_finding_before_and_after(client, db_session, scene, headers, layout):
    order = rechecked(client, db_session, scene, headers, {"MI-04": "non_compliant"})
    document = client.post(f"{ORDERS}{order.id}/recheck/document", headers=headers["li"]).get_json()
    response = client.get(f"{DOCUMENTS}{document['id']}.pdf?layout={layout}", headers=headers["wang"])
    assert response.status_code == 200
    flat = re.sub(r"\s+", "", pdf_text(response.data)[0])
    for shown in ("整改复查意见书", "乌卫监复〔2026〕第0001号", "整改前：不符合（执业许可证过期）",
                  "复查：符合", "复查：不符合（仍未整改）", "复查不合格", "乌海市卫生健康综合监督执法局",
                  f"/verify/{document['verification_token']}"):
        assert shown in flat, shown
    for finding in order.findings:
        assert re.sub(r"\s+", "", finding["legal_basis"]) in flat


def test_the_verification_page_shows_the_recheck_result(client, db_session, scene, headers):
    order = rechecked(client, db_session, scene, headers)
    document = client.post(f"{ORDERS}{order.id}/recheck/document", headers=headers["li"]).get_json()
    page = client.get(f"/verify/{document['verification_token']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for shown in ("乌卫监复〔2026〕第0001号", "整改复查意见书", "复查合格"):
        assert shown in html, shown
    assert FINDINGS["MI-01"] not in html
