"""Documents (文书) of rectification orders: numbering, the PDFs' text and font, scope,
and the public verification page."""

import io
import re
from datetime import UTC, datetime

import pytest
import time_machine
from pypdf import PdfReader

from server.db import transaction
from server.models import AuditEvent, Document, DocumentCounter, User
from server.services.followups.document_pdf import DocumentFontMissing, render
from tests.integration.followups_scene import (  # noqa: F401 - fixtures
    NOW,
    headers,
    issue,
    scene,
)

ORDERS = "/api/v1/followups/orders/"
DOCUMENTS = "/api/v1/followups/documents/"


@pytest.fixture(autouse=True)
def office(app, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_OFFICE_PREFIX", "乌卫监意")
    monkeypatch.setitem(app.config, "DOCUMENT_OFFICE_NAME", "乌海市卫生健康综合监督执法局")
    monkeypatch.setitem(app.config, "DOCUMENT_OFFICE_CODE", "wuhai")


def issue_document(client, order, headers, at=NOW):
    with time_machine.travel(at, tick=False):
        return client.post(f"{ORDERS}{order.id}/document", headers=headers)


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages), reader


def font_names(reader):
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_an_order_gets_one_numbered_document_and_asking_again_returns_it(
        client, db_session, scene, headers):
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)
    first = issue_document(client, order, headers["li"])
    assert first.status_code == 201, first.get_json()
    document = first.get_json()
    assert (document["number"], document["serial"], document["year"], document["order_id"]) == \
        ("乌卫监意〔2026〕第0001号", 1, 2026, order.id)
    assert document["kind_label"] == {"zh": "卫生监督意见书",
                                      "en": "Health supervision opinion (rectification order)"}
    assert len(document["verification_token"]) >= 22
    again = issue_document(client, order, headers["li"])
    assert (again.status_code, again.get_json()) == (200, document)
    assert db_session.query(Document).count() == 1
    assert db_session.query(AuditEvent).filter_by(action="document.issue").count() == 1


def test_numbers_are_consecutive_within_a_year_and_restart_the_next(
        client, db_session, scene, headers):
    with time_machine.travel(NOW, tick=False):
        orders = [issue(db_session, scene) for _ in range(3)]
    numbers = [issue_document(client, order, headers["li"]).get_json()["number"]
               for order in orders[:2]]
    with time_machine.travel(datetime(2027, 1, 4, 2, 0, tzinfo=UTC), tick=False):
        from tests.factories import auth_headers

        fresh = auth_headers(db_session, scene.li)  # tokens expire: sign in after travelling
    next_year = issue_document(client, orders[2], fresh, at=datetime(2027, 1, 4, 2, 0, tzinfo=UTC))
    assert numbers == ["乌卫监意〔2026〕第0001号", "乌卫监意〔2026〕第0002号"]
    assert next_year.get_json()["number"] == "乌卫监意〔2027〕第0001号"


def test_a_rolled_back_issue_gives_its_number_back(app, client, db_session, scene, headers):
    from server.services.followups.documents import Office, issue_order_document

    with time_machine.travel(NOW, tick=False):
        first, second = issue(db_session, scene), issue(db_session, scene)
        db_session.flush()
        with app.app_context(), pytest.raises(RuntimeError), transaction() as session:
            taken, _ = issue_order_document(session, session.get(User, scene.li.id), first.id,
                                            office=Office.from_config(app.config))
            assert taken.serial == 1  # taken, then the request fails
            raise RuntimeError("the request failed after the number was taken")
    db_session.expire_all()
    assert db_session.query(Document).count() == 0
    assert [c.last_serial for c in db_session.query(DocumentCounter)] in ([], [0])
    assert issue_document(client, second, headers["li"]).get_json()["number"] == \
        "乌卫监意〔2026〕第0001号"


def test_out_of_scope_is_404_and_a_coordinator_may_not_issue(client, db_session, scene, headers):
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)
    assert issue_document(client, order, headers["zhao"]).status_code == 404
    assert issue_document(client, order, headers["other_chief"]).status_code == 404
    refused = issue_document(client, order, headers["wang"])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "role_required")
    assert db_session.query(Document).count() == 0
    document = issue_document(client, order, headers["li"]).get_json()
    for name in ("zhao", "other_chief"):
        response = client.get(f"{DOCUMENTS}{document['id']}.pdf", headers=headers[name])
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "not_found")
    # The coordinator of the cell may print it.
    assert client.get(f"{DOCUMENTS}{document['id']}.pdf", headers=headers["wang"]).status_code == 200


@pytest.mark.parametrize("layout", ["a4", "80mm"])
def test_the_pdf_carries_the_number_premises_findings_deadline_and_the_cjk_font(
        client, db_session, scene, headers, layout):
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)
    document = issue_document(client, order, headers["li"]).get_json()
    response = client.get(f"{DOCUMENTS}{document['id']}.pdf?layout={layout}", headers=headers["li"])
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text, reader = pdf_text(response.data)
    flat = re.sub(r"\s+", "", text)
    assert "乌卫监意〔2026〕第0001号" in flat
    assert "卫生监督意见书" in flat
    assert re.sub(r"\s+", "", scene.world.clinic.name) in flat
    for finding in order.findings:
        assert re.sub(r"\s+", "", finding["legal_basis"]) in flat
        assert finding["note"] in flat
        assert re.sub(r"\s+", "", finding["text"]) in flat
    assert f"{order.deadline:%Y年%m月%d日}" in flat
    assert "乌海市卫生健康综合监督执法局" in flat
    assert f"/verify/{document['verification_token']}" in flat
    assert any("WenQuanYi" in name for name in font_names(reader)), font_names(reader)
    width = float(reader.pages[0].mediabox.width)
    assert (round(width / 72 * 25.4)) == (210 if layout == "a4" else 80)
    assert len(reader.pages) == 1  # the roll's page is as long as the text


def test_an_unknown_layout_is_422(client, db_session, scene, headers):
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)
    document = issue_document(client, order, headers["li"]).get_json()
    response = client.get(f"{DOCUMENTS}{document['id']}.pdf?layout=a5", headers=headers["li"])
    assert response.status_code == 422


def test_a_missing_font_fails_clearly(monkeypatch, tmp_path):
    from reportlab.pdfbase import pdfmetrics

    from server.services.followups import document_pdf

    monkeypatch.setattr(document_pdf, "FONT_NAME", "DocumentCJKMissingTest")
    with pytest.raises(DocumentFontMissing) as failure:
        render({}, layout="a4", font_path=str(tmp_path / "nowhere.ttc"))
    assert failure.value.code == "document_font_missing"
    assert "DocumentCJKMissingTest" not in pdfmetrics.getRegisteredFontNames()


def test_the_verification_page_shows_the_document_and_nothing_personal(
        client, db_session, scene, headers):
    premises = scene.world.clinic
    scene.li.display_name, premises.contact_name, premises.contact_phone = \
        "李执法员", "张法人", "13912345678"
    db_session.flush()
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)
    document = issue_document(client, order, headers["li"]).get_json()
    page = client.get(f"/verify/{document['verification_token']}")  # no sign-in
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers  # the app's CSP applies
    html = page.get_data(as_text=True)
    for shown in ("乌卫监意〔2026〕第0001号", "2026-03-02", "乌海市卫生健康综合监督执法局",
                  "已下达", "Issued", "卫生监督意见书"):
        assert shown in html
    from markupsafe import escape

    assert str(escape(scene.world.clinic.name)) in html
    for personal in ("李执法员", "张法人", "13912345678", premises.address, order.measures,
                     order.findings[0]["note"]):
        assert personal not in html, personal
    assert client.get("/verify/" + "x" * 32).status_code == 404
    assert "未找到此文书" in client.get("/verify/nope").get_data(as_text=True)
    for hostile in ("%00" * 20, "%F0%9F%98%80" * 8, "a" * 65, document["verification_token"] + "%00"):
        assert client.get(f"/verify/{hostile}").status_code == 404, hostile


def test_names_on_the_verification_page_are_text_not_markup(client, db_session, scene, headers):
    premises = scene.world.clinic
    premises.name = '<script>alert("x")</script>诊所'
    db_session.flush()
    with time_machine.travel(NOW, tick=False):
        order = issue(db_session, scene)
    document = issue_document(client, order, headers["li"]).get_json()
    html = client.get(f"/verify/{document['verification_token']}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    pdf = client.get(f"{DOCUMENTS}{document['id']}.pdf", headers=headers["li"])
    assert "<script>alert" in pdf_text(pdf.data)[0]
