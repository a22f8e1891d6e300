"""The sweep: reminders before due to the owners, escalations after to the supervisors up the
grid, each raised once; notifications reach their user's pull and nobody else's."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from server.models import AuditEvent, ChangeEvent, Notification
from server.services.followups.escalation import load_rules, sweep
from tests.factories import assign, auth_headers, make_user
from tests.integration.followups_scene import NOW, build_scene, issue

DEADLINE = date(2026, 3, 5)


def day(d):
    return datetime(2026, 3, d, 2, 30, tzinfo=UTC)


@pytest.fixture
def obligations(db_session):
    """An order due Thursday 5 March on wang's clinic (D1 / street D1001), its recheck task
    assigned to li (rechecks go to officers, not to wang); a street supervisor on D1001,
    chief on district D1."""
    with time_machine.travel(NOW, tick=False):
        scene = build_scene(db_session)
        world = scene.world
        street = make_user(db_session, "supervisor", "street_sup")
        assign(db_session, world.admin, street, world.grid.cells["D1001"])
        order = issue(db_session, scene, deadline=DEADLINE)
        db_session.flush()
    return scene, street, order


def run(db_session, on):
    with time_machine.travel(day(on), tick=False):
        return sweep(db_session, None, rules=load_rules())


def raised(db_session):
    return sorted((n.user_id, n.kind, n.level, n.subject_kind, n.subject_id)
                  for n in db_session.scalars(select(Notification)))


def test_reminders_then_escalations_by_days_each_once(db_session, obligations):
    scene, street, order = obligations
    world, li = scene.world, scene.li
    subjects = [("order", order.id)]  # its recheck task is reminded as the order, not twice
    assert run(db_session, 2)["reminders"] == 0  # due in 3 days: before the window
    assert raised(db_session) == []

    counts = run(db_session, 3)  # 2 days before
    assert (counts["reminders"], counts["escalations"]) == (1, 0)
    expected = sorted((user.id, "reminder", "before_2", *subject)
                      for user in (li,) for subject in subjects)
    assert raised(db_session) == expected

    again = run(db_session, 3)
    assert (again["reminders"], again["escalations"], again["already_raised"]) == (0, 0, 1)
    assert run(db_session, 4)["reminders"] == 0  # 1 day before: still the 2-day reminder
    assert raised(db_session) == expected

    assert run(db_session, 5)["reminders"] == 1  # the due day
    expected += [(user.id, "reminder", "before_0", *subject)
                 for user in (li,) for subject in subjects]
    for quiet_day in (6, 7):  # 1 and 2 days overdue: nothing new
        assert run(db_session, quiet_day) == {"today": f"2026-03-0{quiet_day}", "items_read": 1,
                                              "reminders": 0, "escalations": 0,
                                              "already_raised": 0}

    assert run(db_session, 8)["escalations"] == 1  # 3 days overdue: the street's supervisor
    expected += [(street.id, "escalation", "street", *subject) for subject in subjects]
    assert run(db_session, 14)["escalations"] == 0  # 9 days: nothing new
    assert run(db_session, 15)["escalations"] == 1  # 10 days: the district's (chief)
    expected += [(world.chief.id, "escalation", "district", *subject) for subject in subjects]
    assert run(db_session, 15)["escalations"] == 0
    assert raised(db_session) == sorted(expected)
    # Nobody outside the grid above the cell is told.
    told = {n[0] for n in expected}
    assert world.other_chief.id not in told and world.zhao.id not in told


def test_an_item_first_seen_long_overdue_is_escalated_to_every_level_reached(db_session,
                                                                            obligations):
    scene, street, order = obligations
    counts = run(db_session, 20)  # 15 days overdue, never swept before
    assert (counts["reminders"], counts["escalations"]) == (0, 2)
    assert raised(db_session) == sorted(
        [(street.id, "escalation", "street", "order", order.id),
         (scene.world.chief.id, "escalation", "district", "order", order.id)])


def test_one_audit_event_per_run_and_one_feed_event_per_notification_to_its_user(db_session,
                                                                                obligations):
    scene, _, _ = obligations
    run(db_session, 3)
    run(db_session, 3)
    db_session.flush()
    audits = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "followups.sweep")).all()
    assert [(a.details["reminders"], a.details["already_raised"]) for a in audits] == [(1, 0),
                                                                                      (0, 1)]
    events = db_session.execute(select(ChangeEvent.entity_id, ChangeEvent.user_id,
                                       ChangeEvent.cell_id)
                                .where(ChangeEvent.entity_type == "notification")).all()
    notifications = db_session.scalars(select(Notification)).all()
    assert sorted(events) == sorted((str(n.id), n.user_id, None) for n in notifications)


def test_a_notification_reaches_its_users_pull_and_nobody_elses(client, db_session, obligations):
    scene, street, _ = obligations
    world = scene.world
    run(db_session, 8)  # street escalation (1) and nothing else (reminders were never swept)
    with time_machine.travel(day(8), tick=False):
        pages = {name: client.get("/api/v1/sync/pull?limit=1000",
                                  headers=auth_headers(db_session, user)).get_json()
                 for name, user in (("street", street), ("wang", world.wang),
                                    ("chief", world.chief), ("admin", world.admin))}
        mine = [n.id for n in db_session.scalars(select(Notification).where(
            Notification.user_id == street.id))]
        assert len(mine) == 1
        got = [i for i in pages["street"]["items"] if i["type"] == "notification"]
        assert sorted(i["id"] for i in got) == sorted(mine)
        assert {i["data"]["kind"] for i in got} == {"escalation"}
        assert got[0]["data"]["level_label"] == {"zh": "街道/镇", "en": "Street / town"}
        for name in ("wang", "chief", "admin"):
            assert [i for i in pages[name]["items"] if i["type"] == "notification"] == [], name
        # A later sweep's notification comes by the feed, to its user only.
        cursors = {name: (page["next_cursor"], page["scope"]) for name, page in pages.items()}
    run(db_session, 15)
    with time_machine.travel(day(15), tick=False):
        for name, user, count in (("chief", world.chief, 1), ("street", street, 0),
                                  ("wang", world.wang, 0), ("admin", world.admin, 0)):
            cursor, scope = cursors[name]
            page = client.get("/api/v1/sync/pull", query_string={"cursor": cursor,
                                                                 "scope": scope},
                              headers=auth_headers(db_session, user)).get_json()
            notes = [i for i in page["items"] if i["type"] == "notification"]
            assert len(notes) == count, name


def test_notifications_api_lists_own_and_marks_read_once(client, db_session, obligations):
    scene, street, _ = obligations
    run(db_session, 8)
    with time_machine.travel(day(9), tick=False):
        headers = auth_headers(db_session, street)
        listed = client.get("/api/v1/followups/notifications", headers=headers).get_json()
        assert len(listed) == 1 and {n["kind"] for n in listed} == {"escalation"}
        assert listed[0]["kind_label"] == {"zh": "逾期督办", "en": "Escalation"}
        target = listed[0]["id"]
        other = auth_headers(db_session, scene.world.chief)
        before = db_session.scalar(select(func.count()).select_from(AuditEvent))
        response = client.post(f"/api/v1/followups/notifications/{target}/read", headers=other)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
        db_session.expire_all()
        assert db_session.get(Notification, target).read_at is None
        assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == before
        assert client.get("/api/v1/followups/notifications",
                          headers=other).get_json() == []
        first = client.post(f"/api/v1/followups/notifications/{target}/read", headers=headers)
        assert first.status_code == 200
        assert first.get_json()["read_at"].startswith("2026-03-09T02:30:00")
        second = client.post(f"/api/v1/followups/notifications/{target}/read", headers=headers)
        assert second.get_json()["read_at"] == first.get_json()["read_at"]
        unread = client.get("/api/v1/followups/notifications", query_string={"unread": "true"},
                            headers=headers).get_json()
        assert [n["id"] for n in unread] == [n["id"] for n in listed if n["id"] != target]


def test_complaint_feedback_reminds_its_verifiers_and_closed_or_far_items_are_not_read(
        db_session, obligations):
    from sqlalchemy import update

    from server.models import Complaint, RectificationOrder, Task
    from tests.integration.followups_scene import issue as issue_order

    scene, street, order = obligations
    world = scene.world
    with time_machine.travel(NOW, tick=False):
        verification = Task(kind="complaint_verification", premises_id=world.clinic.id,
                            cell_id=world.clinic.cell_id, due_date=date(2026, 3, 20),
                            status="done", assignees=[world.wang])
        db_session.add(verification)
        db_session.flush()
        complaint = Complaint(channel="phone", received_at=NOW, category_code="other",
                              content="噪音", anonymous=False, cell_id=world.clinic.cell_id,
                              premises_id=world.clinic.id, status="verified",
                              task_id=verification.id, feedback_due=date(2026, 3, 5))
        answered = Complaint(channel="phone", received_at=NOW, category_code="other",
                             content="噪音", anonymous=False, cell_id=world.clinic.cell_id,
                             premises_id=world.clinic.id, status="verified",
                             task_id=verification.id, feedback_due=date(2026, 3, 4),
                             feedback_at=NOW, feedback_text="已答复")
        db_session.add_all([complaint, answered])
        closed = issue_order(db_session, scene, deadline=date(2026, 3, 4))
        db_session.execute(update(RectificationOrder).where(RectificationOrder.id == closed.id)
                           .values(state="passed"))
        db_session.execute(update(Task).where(Task.id == closed.task_id).values(status="done"))
        issue_order(db_session, scene, deadline=date(2026, 3, 30))  # far ahead
        db_session.flush()
    counts = run(db_session, 5)
    # Read: the open order (its task is the order's), the unanswered complaint. Not the closed
    # order, its done task, the answered complaint, the done verification task, nor the order
    # due on the 30th.
    assert counts["items_read"] == 2
    assert sorted((n.user_id, n.subject_kind, n.subject_id, n.level)
                  for n in db_session.scalars(select(Notification).where(
                      Notification.subject_kind == "complaint_feedback"))) == [
        (world.wang.id, "complaint_feedback", complaint.id, "before_0")]


def test_an_order_whose_task_has_no_assignees_reminds_the_cells_staff_on_duty(db_session,
                                                                             obligations):
    from server.models import Task

    scene, _, order = obligations
    task = db_session.get(Task, order.task_id)
    task.assignees = []
    db_session.flush()
    run(db_session, 5)
    told = sorted((n.user_id, n.subject_kind) for n in db_session.scalars(select(Notification)))
    # The order falls back to the cell's staff (wang on the cell, li on the district); the
    # task itself has nobody to remind.
    assert told == sorted([(scene.world.wang.id, "order"), (scene.li.id, "order")])


@pytest.fixture
def unstaffed_street(db_session):
    """The same order, with nobody on street D1001: chief (district D1) is the nearest above."""
    with time_machine.travel(NOW, tick=False):
        scene = build_scene(db_session)
        order = issue(db_session, scene, deadline=DEADLINE)
        db_session.flush()
    return scene, order


def test_a_level_without_supervisors_escalates_to_the_nearest_one_above(db_session,
                                                                        unstaffed_street):
    scene, order = unstaffed_street
    assert run(db_session, 8)["escalations"] == 1  # 3 days overdue: the street's level
    chief = scene.world.chief.id
    assert [n for n in raised(db_session) if n[1] == "escalation"] == [
        (chief, "escalation", "street", "order", order.id)]


def test_a_grid_without_supervisors_escalates_to_the_admins(db_session, unstaffed_street):
    from server.models import CellAssignment, User

    scene, order = unstaffed_street
    supervisors = select(User.id).where(User.role == "supervisor")
    for assignment in db_session.scalars(select(CellAssignment).where(
            CellAssignment.user_id.in_(supervisors))):
        db_session.delete(assignment)
    db_session.flush()
    assert run(db_session, 8)["escalations"] == 1
    escalated = {(n[0], n[2]) for n in raised(db_session) if n[1] == "escalation"}
    assert escalated == {(scene.world.admin.id, "street")}
