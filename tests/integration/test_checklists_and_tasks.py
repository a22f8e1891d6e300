"""Checklist templates (一单) and tasks with default assignees."""

from datetime import UTC, datetime

import pytest
import time_machine

from server.errors import Conflict
from server.models import ChecklistTemplate
from server.services.checklists import (
    SHIPPED,
    applicable_items,
    load_template,
    load_templates,
)
from tests.factories import (
    assign,
    auth_headers,
    load_checklists,
    make_grid,
    make_premises,
    make_user,
)


def test_shipped_templates_load_once(db_session):
    first = load_templates(db_session)
    assert {code for code, _, outcome in first if outcome == "created"} == {
        "medical_lawful_practice", "public_place_hygiene", "school_hygiene", "drinking_water"}
    assert {outcome for _, _, outcome in load_templates(db_session)} == {"unchanged"}
    assert db_session.query(ChecklistTemplate).count() == 4


def test_same_version_with_other_content_is_refused(db_session):
    import json

    load_templates(db_session)
    document = json.loads((SHIPPED / "school_hygiene.json").read_text())
    document["items"][0]["text"] = "改过的内容"
    with pytest.raises(Conflict) as raised:
        load_template(db_session, document)
    assert raised.value.code == "template_version_taken"
    document["version"] = 2
    assert load_template(db_session, document)[2] == "created"


def test_items_narrow_to_the_premises_category(db_session):
    load_templates(db_session)
    template = db_session.query(ChecklistTemplate).filter_by(code="medical_lawful_practice").one()
    clinic = {item.code for item in applicable_items(template, "clinic")}
    dental = {item.code for item in applicable_items(template, "dental_clinic")}
    assert "MI-11" in dental and "MI-11" not in clinic and "MI-01" in clinic


def test_checklists_api_lists_templates_for_a_category(client, db_session):
    load_checklists(db_session)
    headers = auth_headers(db_session, make_user(db_session, "coordinator"))
    body = client.get("/api/v1/checklists/?category_code=school", headers=headers).get_json()
    assert [t["code"] for t in body] == ["school_hygiene"]
    item = body[0]["items"][0]
    assert item["legal_basis"] and item["severity_label"]["zh"]


# A Monday morning in every zone the servers run in: tests that create dated things run then.
MONDAY = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


@pytest.fixture
def office(db_session):
    with time_machine.travel(MONDAY, tick=False):  # the staff start that day
        return _office(db_session)


def _office(db_session):
    grid = make_grid(db_session)
    admin = make_user(db_session, "admin")
    supervisor = make_user(db_session, "supervisor", "liu")
    clinics_only = make_user(db_session, "coordinator", "wang")
    schools_only = make_user(db_session, "coordinator", "zhao")
    officer = make_user(db_session, "officer", "li")
    assign(db_session, admin, supervisor, grid.cells["D1"])
    assign(db_session, admin, clinics_only, grid.cells["D1001001"], duty=["clinic"])
    assign(db_session, admin, schools_only, grid.cells["D1001001"], duty=["school"])
    assign(db_session, admin, officer, grid.cells["D1001"])
    premises = make_premises(db_session, admin, grid.cells["D1001001"], category="clinic")
    return grid, admin, supervisor, clinics_only, schools_only, officer, premises


def test_task_assignees_default_to_staff_whose_duty_covers_the_category(client, db_session,
                                                                        office):
    _, _, supervisor, clinics_only, _, officer, premises = office
    with time_machine.travel(MONDAY, tick=False):
        response = client.post("/api/v1/tasks/", json={
            "kind": "routine_patrol", "premises_id": premises.id, "due_date": "2026-03-09"},
            headers=auth_headers(db_session, supervisor))
    assert response.status_code == 201, response.get_json()
    assert sorted(response.get_json()["assignee_ids"]) == sorted([clinics_only.id, officer.id])
    assert response.get_json()["kind_label"] == {"zh": "日常巡查", "en": "Routine patrol"}


def test_coordinators_see_their_tasks_supervisors_see_all_in_scope(client, db_session, office):
    _, _, supervisor, clinics_only, schools_only, _, premises = office
    headers = auth_headers(db_session, supervisor)
    client.post("/api/v1/tasks/", json={"kind": "routine_patrol", "premises_id": premises.id,
                                        "due_date": "2026-12-01"}, headers=headers)
    assert len(client.get("/api/v1/tasks/", headers=headers).get_json()) == 1
    assert len(client.get("/api/v1/tasks/",
                          headers=auth_headers(db_session, clinics_only)).get_json()) == 1
    assert client.get("/api/v1/tasks/", headers=auth_headers(db_session, schools_only)).get_json() == []


def test_overdue_filter_lists_open_tasks_past_due(client, db_session, office):
    _, _, supervisor, _, _, _, premises = office
    headers = auth_headers(db_session, supervisor)
    for due in ("2020-01-01", "2099-01-01"):
        client.post("/api/v1/tasks/", json={"kind": "routine_patrol", "premises_id": premises.id,
                                            "due_date": due}, headers=headers)
    overdue = client.get("/api/v1/tasks/?overdue=true", headers=headers).get_json()
    assert [t["due_date"] for t in overdue] == ["2020-01-01"]


def test_explicit_assignee_outside_the_premises_cells_is_refused(client, db_session, office):
    _, admin, supervisor, _, _, _, premises = office
    grid = office[0]
    stranger = make_user(db_session, "coordinator", "far")
    assign(db_session, admin, stranger, grid.cells["D2"])
    response = client.post("/api/v1/tasks/", json={
        "kind": "routine_patrol", "premises_id": premises.id, "due_date": "2026-12-01",
        "assignee_ids": [stranger.id]}, headers=auth_headers(db_session, supervisor))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "assignee_out_of_scope"


def test_cancelling_a_task_keeps_the_reason(client, db_session, office):
    _, _, supervisor, _, _, _, premises = office
    headers = auth_headers(db_session, supervisor)
    task = client.post("/api/v1/tasks/", json={"kind": "routine_patrol", "premises_id": premises.id,
                                               "due_date": "2026-12-01"}, headers=headers).get_json()
    cancelled = client.post(f"/api/v1/tasks/{task['id']}/cancel", json={"reason": "停业"},
                            headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert "停业" in cancelled.get_json()["note"]
    again = client.post(f"/api/v1/tasks/{task['id']}/cancel", json={"reason": "x"}, headers=headers)
    assert again.status_code == 409
