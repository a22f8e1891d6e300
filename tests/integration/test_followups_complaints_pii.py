"""The complainant's personal data: the office roles see it; field staff never do, in the API
or in the pull; no pull carries it, whoever pulls; the audit trail and the feed hold none."""

import json

import pytest
from sqlalchemy import select

from server.models import AuditEvent, ChangeEvent
from tests.factories import assign, auth_headers, load_calendars, make_user

BASE = "/api/v1/followups/complaints/"
NAME, PHONE, ID_NUMBER = "实名投诉人王某", "13912345678", "11010519491231002X"
PII = (NAME, PHONE, ID_NUMBER)


@pytest.fixture(autouse=True)
def calendars(db_session):
    """The shipped working-day calendars: intake counts the feedback due day on them."""
    load_calendars(db_session)
OFFICE_ONLY = {"complainant", "feedback_text", "feedback_by_id", "feedback_at", "feedback_due",
               "entered_by_id", "verified_by_id"}


@pytest.fixture
def officer(db_session, world):
    """An enforcement officer on the clinic's cell: also given the verification task."""
    user = make_user(db_session, "officer", "li")
    assign(db_session, world.admin, user, world.grid.cells["D1001001"])
    return user


@pytest.fixture
def complaint(client, db_session, world, officer):
    """A real-name complaint about the clinic; its verification task goes to wang and li."""
    chief = auth_headers(db_session, world.chief)
    response = client.post(BASE, headers=chief, json={
        "channel": "letter", "category_code": "illegal_practice", "content": "无证行医",
        "premises_id": world.clinic.id, "anonymous": False,
        "complainant": {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def carries_pii(text):
    return [value for value in PII if value in text]


def field_views(client, headers, complaint_id):
    """Every API answer a field user gets about the complaint, as raw text."""
    answers = [client.get(BASE, headers=headers), client.get(BASE + str(complaint_id), headers=headers)]
    for answer in answers:
        assert answer.status_code == 200
    return answers


@pytest.mark.parametrize("member", ["admin", "chief"])
def test_the_office_sees_the_complainant(client, db_session, world, complaint, member):
    headers = auth_headers(db_session, getattr(world, member))
    data = client.get(BASE + str(complaint["id"]), headers=headers).get_json()
    assert data["complainant"] == {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER}
    assert data["real_name"] is True


@pytest.mark.parametrize("member", ["wang", "officer"])
def test_field_staff_get_the_facts_but_never_the_person(client, db_session, world, officer,
                                                        complaint, member):
    user = officer if member == "officer" else world.wang
    headers = auth_headers(db_session, user)
    for answer in field_views(client, headers, complaint["id"]):
        assert carries_pii(answer.get_data(as_text=True)) == []
        data = answer.get_json()
        for item in data if isinstance(data, list) else [data]:
            assert OFFICE_ONLY.isdisjoint(item), item
            assert (item["content"], item["real_name"]) == ("无证行医", True)
            assert item["premises_id"] == world.clinic.id
    verified = client.post(f"{BASE}{complaint['id']}/verify", headers=headers,
                           json={"outcome": "verified", "result": "属实"})
    assert verified.status_code == 200
    assert carries_pii(verified.get_data(as_text=True)) == []
    assert OFFICE_ONLY.isdisjoint(verified.get_json())


def pull_everything(client, headers):
    """Pull from scratch to the end; return every item and the raw text of every page."""
    items, texts, cursor, scope = [], [], None, None
    while True:
        query = {k: v for k, v in {"cursor": cursor, "scope": scope}.items() if v}
        response = client.get("/api/v1/sync/pull", query_string=query, headers=headers)
        assert response.status_code == 200
        page = response.get_json()
        items += page["items"]
        texts.append(response.get_data(as_text=True))
        cursor, scope = page["next_cursor"], page["scope"]
        if not page["has_more"]:
            return items, texts, cursor, scope


@pytest.mark.parametrize("member", ["wang", "officer", "chief", "admin"])
def test_no_pull_carries_the_complainant(client, db_session, world, officer, complaint, member):
    user = officer if member == "officer" else getattr(world, member)
    headers = auth_headers(db_session, user)
    items, texts, cursor, scope = pull_everything(client, headers)
    pulled = [item for item in items if item["type"] == "complaint"]
    assert [(item["id"], item["op"]) for item in pulled] == [(complaint["id"], "upsert")]
    assert OFFICE_ONLY.isdisjoint(pulled[0]["data"])
    assert pulled[0]["data"]["content"] == "无证行医"
    assert all(carries_pii(text) == [] for text in texts)
    # Verification and feedback reach the terminal in the next pull, still without the person.
    client.post(f"{BASE}{complaint['id']}/verify", json={"outcome": "verified", "result": "属实"},
                headers=auth_headers(db_session, world.wang))
    client.post(f"{BASE}{complaint['id']}/feedback", json={"text": f"已电话告知{NAME}"},
                headers=auth_headers(db_session, world.chief))
    response = client.get("/api/v1/sync/pull", query_string={"cursor": cursor, "scope": scope},
                          headers=headers)
    changed = [item for item in response.get_json()["items"] if item["type"] == "complaint"]
    assert [(item["id"], item["data"]["status"]) for item in changed] == [(complaint["id"],
                                                                           "verified")]
    assert carries_pii(response.get_data(as_text=True)) == []


def test_a_coordinator_not_on_the_task_pulls_no_complaint(client, db_session, world, complaint):
    items, _, _, _ = pull_everything(client, auth_headers(db_session, world.zhao))
    assert [item for item in items if item["type"] == "complaint"] == []
    colleague = make_user(db_session, "coordinator", "sun")
    assign(db_session, world.admin, colleague, world.grid.cells["D1001002"])
    items, _, _, _ = pull_everything(client, auth_headers(db_session, colleague))
    assert [item for item in items if item["type"] == "complaint"] == []


def test_a_later_pull_brings_a_new_complaint_to_its_verifiers(client, db_session, world):
    headers = auth_headers(db_session, world.wang)
    _, _, cursor, scope = pull_everything(client, headers)
    created = client.post(BASE, headers=auth_headers(db_session, world.chief), json={
        "channel": "web", "category_code": "other", "content": "门口堆放医疗废物",
        "premises_id": world.clinic.id, "anonymous": True}).get_json()
    page = client.get("/api/v1/sync/pull", query_string={"cursor": cursor, "scope": scope},
                      headers=headers).get_json()
    kinds = {(item["type"], item["id"]) for item in page["items"]}
    assert ("complaint", created["id"]) in kinds
    assert ("task", created["task_id"]) in kinds


def test_the_audit_trail_and_the_feed_hold_no_personal_data(client, db_session, world, complaint):
    client.post(f"{BASE}{complaint['id']}/verify", json={"outcome": "verified", "result": "属实"},
                headers=auth_headers(db_session, world.wang))
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "complaint")).all()
    assert [e.action for e in events] == ["complaint.intake", "complaint.verify"]
    stored = json.dumps([e.details for e in events], ensure_ascii=False)
    stored += json.dumps([(c.entity_type, c.entity_id) for c in db_session.scalars(
        select(ChangeEvent))], ensure_ascii=False)
    assert carries_pii(stored) == []
