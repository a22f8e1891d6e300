"""The overdue list (逾期): computed from due dates on the frozen day, scoped by the one scope
implementation, filtered and paged."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import update

from server.models import Complaint, RectificationOrder, Task
from tests.factories import assign, auth_headers, make_user
from tests.integration.followups_scene import NOW, build_scene, issue

URL = "/api/v1/followups/overdue"
DEADLINE = date(2026, 3, 5)  # issued Monday 2 March, due Thursday
LATER = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)  # 5 days past the deadline


def add_task(session, scene, premises, due, status="open"):
    task = Task(kind="routine_patrol", premises_id=premises.id, cell_id=premises.cell_id,
                due_date=due, status=status, created_by_id=scene.world.admin.id)
    session.add(task)
    session.flush()
    return task


def add_complaint(session, premises, due, answered=False):
    complaint = Complaint(channel="phone", received_at=NOW, category_code="other",
                          content="噪音", anonymous=False, cell_id=premises.cell_id,
                          premises_id=premises.id, status="verified", feedback_due=due,
                          feedback_at=NOW if answered else None, feedback_text="已答复"
                          if answered else None)
    session.add(complaint)
    session.flush()
    return complaint


@pytest.fixture
def due(db_session):
    """An order due 5 March on wang's clinic (its recheck task too), a complaint answer due
    6 March there, a patrol due 1 March next door in D2, and things not overdue."""
    with time_machine.travel(NOW, tick=False):
        scene = build_scene(db_session)
        world = scene.world
        street = make_user(db_session, "supervisor", "street_sup")
        assign(db_session, world.admin, street, world.grid.cells["D1001"])
        order = issue(db_session, scene, deadline=DEADLINE)
        not_yet = issue(db_session, scene, deadline=date(2026, 3, 20))
        closed = issue(db_session, scene, deadline=DEADLINE)
        db_session.execute(update(RectificationOrder).where(RectificationOrder.id == closed.id)
                           .values(state="passed"))
        db_session.execute(update(Task).where(Task.id == closed.task_id)
                           .values(status="done"))
        complaint = add_complaint(db_session, world.clinic, date(2026, 3, 6))
        add_complaint(db_session, world.clinic, date(2026, 3, 1), answered=True)
        foreign = add_task(db_session, scene, world.foreign_clinic, date(2026, 3, 1))
        db_session.flush()
    return scene, street, order, not_yet, complaint, foreign


def get(client, db_session, user, **query):
    with time_machine.travel(LATER, tick=False):
        response = client.get(URL, query_string=query, headers=auth_headers(db_session, user))
    return response


def keys(response):
    assert response.status_code == 200, response.get_json()
    return [(item["kind"], item["id"], item["days_overdue"]) for item in response.get_json()]


def test_each_user_sees_the_overdue_items_of_their_cells_with_the_exact_days(client, db_session,
                                                                            due):
    scene, street, order, _, complaint, foreign = due
    world = scene.world
    # The order's recheck task is the order's obligation: one line, not two.
    mine = [("order", order.id, 5), ("complaint_feedback", complaint.id, 4)]
    for user in (world.wang, street, world.chief, scene.li):
        assert keys(get(client, db_session, user)) == mine, user.username
    there = [("task", foreign.id, 9)]
    for user in (world.zhao, world.other_chief):
        assert keys(get(client, db_session, user)) == there, user.username
    assert keys(get(client, db_session, world.admin)) == there + mine


def test_an_item_carries_its_due_date_cell_premises_and_owners(client, db_session, due):
    scene, _, order, *_ = due
    item = get(client, db_session, scene.world.wang, kind="order").get_json()
    assert item == [{"kind": "order", "kind_label": {"zh": "整改期限", "en": "Rectification deadline"},
                     "id": order.id, "due_date": "2026-03-05", "days_overdue": 5,
                     "cell_id": scene.world.clinic.cell_id, "premises_id": scene.world.clinic.id,
                     "premises_name": scene.world.clinic.name,
                     "owners": sorted([{"id": u.id, "username": u.username,
                                        "display_name": u.display_name}
                                       for u in db_session.get(Task, order.task_id).assignees],
                                      key=lambda o: o["id"])}]
    assert {o["username"] for o in item[0]["owners"]} == {"li"}  # rechecks go to officers


def test_filters_kind_min_days_and_cell(client, db_session, due):
    scene, _, order, not_yet, complaint, foreign = due
    world = scene.world
    chief = world.chief
    assert keys(get(client, db_session, chief, kind="complaint_feedback")) == [
        ("complaint_feedback", complaint.id, 4)]
    assert keys(get(client, db_session, chief, min_days=5)) == [("order", order.id, 5)]
    assert keys(get(client, db_session, chief, min_days=6)) == []
    assert keys(get(client, db_session, world.admin, cell_id=world.grid.cells["D2"].id)) == [
        ("task", foreign.id, 9)]
    assert len(keys(get(client, db_session, chief,
                        cell_id=world.grid.cells["D1001001"].id))) == 2
    assert keys(get(client, db_session, chief, cell_id=world.grid.cells["D1002"].id)) == []
    # Paged like every list: most overdue first.
    assert keys(get(client, db_session, world.admin, limit=2, offset=1)) == [
        ("order", order.id, 5), ("complaint_feedback", complaint.id, 4)]
    assert not_yet.id not in [item[1] for item in keys(get(client, db_session, world.admin,
                                                           min_days=0))]


def test_a_cell_out_of_scope_is_404_and_a_bad_kind_422(client, db_session, due):
    scene, *_ = due
    world = scene.world
    response = get(client, db_session, world.wang, cell_id=world.grid.cells["D2"].id)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert get(client, db_session, world.wang, kind="case").status_code == 422


def test_overdue_is_computed_on_the_day_asked_never_stored(client, db_session, due):
    scene, _, order, *_ = due
    world = scene.world
    on_due_day = datetime(2026, 3, 5, 2, 30, tzinfo=UTC)
    with time_machine.travel(on_due_day, tick=False):
        headers = auth_headers(db_session, world.wang)
        assert keys(client.get(URL, headers=headers)) == []
        due_today = keys(client.get(URL, query_string={"min_days": 0}, headers=headers))
    assert ("order", order.id, 0) in due_today
    # Answering the complaint takes it off the list at once: nothing to clear.
    db_session.execute(update(Complaint).values(feedback_at=NOW, feedback_text="已答复"))
    assert [k for k, *_ in keys(get(client, db_session, world.wang))] == ["order"]
