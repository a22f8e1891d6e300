"""Walk every endpoint of the OpenAPI spec as the coordinator of one cell, and as the
supervisor of one district.

No answer may carry data of another cell, another map, or another person, and no write may
change anything.
"""

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from shapely.geometry import box

from server.models import (
    Case,
    CaseStage,
    CaseTransfer,
    CellAssignment,
    Complaint,
    Document,
    GridCell,
    GridMap,
    Inspection,
    Notification,
    Penalty,
    PracticePoint,
    Premises,
    PremisesMeasure,
    RectificationOrder,
    Task,
    User,
)
from server.services import grid as grid_service
from server.services.evidence import EvidenceLimits
from server.services.photos import upload_photo
from server.services.tasks import create_task
from tests.factories import (
    CLINIC_CELL,
    as_bytes,
    auth_headers,
    feature_collection,
    inspection_data,
    jpeg_bytes,
    make_inspection,
)

OWN_CELL = CLINIC_CELL
SCOPES = {"coordinator": {OWN_CELL},
          "supervisor": {"D1", "D1001", "D1001001", "D1001002", "D1002", "D1002001", "D1002002"}}


# A Monday mid-morning in every zone the servers run in: dates the walk makes (deadlines,
# decisions, due days) are the same whenever the suite runs.
FROZEN = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture(params=sorted(SCOPES))
def scene(db_session, request, app, world):
    """The shared world as the walking actor sees it, with a foreign map, devices and work.

    The actor is wang, coordinator of OWN_CELL, or liu (the world's chief), supervisor of
    its district; zhao coordinates a cell in the other district.
    """
    foreign = grid_service.create_map(db_session, jurisdiction_code="T2", name="外地")
    grid_service.import_level(db_session, foreign, as_bytes(feature_collection(
        [("X1", "外区", box(107.0, 39.0, 107.1, 39.1))])), level="district")
    scene = {"grid": world.grid, "foreign": foreign, "me": world.wang, "other": world.zhao,
             "mine": world.assignments["wang"], "theirs": world.assignments["zhao"],
             "admin": world.admin, "actor": world.wang, "cells": SCOPES["coordinator"],
             "users": {"wang"}}
    if request.param == "supervisor":
        scene.update(actor=world.chief, mine=world.assignments["chief"],
                     cells=SCOPES["supervisor"], users={"wang", "liu"})
    _add_field_work(db_session, scene, app.config["PHOTO_DIR"], world)
    _add_complaints(db_session, scene, world)
    _add_overdue(db_session, scene, world)
    _add_penalties(db_session, scene, world)
    from server.services.jobs import enqueue

    scene["jobs"] = {"mine": enqueue(db_session, scene["actor"], "rederive_cells"),
                     "theirs": enqueue(db_session, world.zhao, "rederive_cells")}
    from server.services.devices import register_device

    scene["other_device"] = register_device(db_session, world.zhao, device_uid="other-1",
                                            ttl_hours=24)[1]
    scene["own_device"] = register_device(db_session, scene["actor"], device_uid="own-1",
                                          ttl_hours=24)[1]
    scene["cell_ids"] = {world.grid.cells[code].id for code in scene["cells"]}
    return scene


def _add_field_work(db_session, scene, photo_dir, world):
    """A done task, an inspection and a photo at each clinic: one in scope, one out of it."""
    from server.photos import FilesystemPhotoStore

    admin = world.admin
    store = FilesystemPhotoStore(photo_dir)
    for side, premises, inspector in (("own_work", world.clinic, world.wang),
                                      ("foreign_work", world.foreign_clinic, world.zhao)):
        task = create_task(db_session, admin, kind="routine_patrol", premises_id=premises.id,
                           due_date=date(2026, 12, 1), assignee_ids=[inspector.id])
        photo, _ = upload_photo(db_session, store, inspector, hashlib.sha256(
            jpeg_bytes(len(side))).hexdigest(), jpeg_bytes(len(side)), max_bytes=10**7,
            max_pixels=10**8, limits=EvidenceLimits())
        inspection = make_inspection(db_session, inspector, premises, task_id=task.id,
                                     photos=[photo.sha256])
        order = _order(db_session, admin, premises)
        scene[side] = {"premises": premises, "task": task, "inspection": inspection,
                       "photo": photo, "order": order, "document": _document(db_session, admin, order),
                       "case": _case(db_session, admin, premises)}


def _order(db_session, admin, premises):
    """A rectification order at the premises (deadline given: no calendar needed)."""
    from server.services.followups.deadlines import load_rules
    from server.services.followups.orders import issue_order
    from tests.integration.followups_scene import non_compliant_inspection

    inspection = non_compliant_inspection(db_session, admin, premises)
    return issue_order(db_session, admin, {
        "client_uuid": f"walk-order-{premises.id}", "inspection_id": inspection.id,
        "findings": ["MI-01"], "measures": "walk", "deadline": date.today() + timedelta(days=30)},
        rules=load_rules())[0]


def _case(db_session, admin, premises):
    """A case (案件) at the premises, opened from a non-compliant inspection, at filing."""
    from server.services.followups.cases import CaseNumbering, open_case
    from tests.factories import load_calendars
    from tests.integration.followups_scene import non_compliant_inspection

    load_calendars(db_session)  # the filing stage's due day counts working days
    inspection = non_compliant_inspection(db_session, admin, premises)
    return open_case(db_session, admin, {
        "client_uuid": f"walk-case-{premises.id}", "title": "walk",
        "source": {"kind": "inspection", "id": inspection.id}},
        numbering=CaseNumbering(office_code="walk", prefix="走立"))[0]


def _document(db_session, admin, order):
    """The order's document (文书), issued: asking again changes nothing."""
    from server.services.followups.documents import Office, issue_order_document

    office = Office(code="walk", name="走查机关", prefixes={"rectification_order": "走"})
    return issue_order_document(db_session, admin, order.id, office=office)[0]


def _add_complaints(db_session, scene, world):
    """A complaint at each clinic (ours verified and answered: no write may land on it) and
    one in no cell (the whole grid's queue)."""
    from server.services.followups import complaints
    from tests.factories import load_calendars

    load_calendars(db_session)  # the feedback due day counts working days

    def take(**where):
        return complaints.intake(db_session, world.admin, {
            "channel": "phone", "category_code": "other", "content": "walk", "anonymous": False,
            "complainant": {"name": "走查人", "phone": "13800000000"}, **where}, feedback_days=15)

    own = take(premises_id=world.clinic.id)
    complaints.verify(db_session, world.admin, own.id, outcome="verified", result="walk")
    complaints.give_feedback(db_session, world.admin, own.id, text="walk")
    scene["own_work"]["complaint"] = own
    scene["foreign_work"]["complaint"] = take(premises_id=world.foreign_clinic.id)
    scene["unrouted_complaint"] = take(address="某地")


def _add_overdue(db_session, scene, world):
    """An open task 5 days overdue at each clinic, and a notification for each side: zhao's
    unread (out of reach), the actor's already read (reading it again changes nothing)."""
    from server.models import Notification
    from server.models._types import utcnow

    due = date.today() - timedelta(days=5)
    for side, premises, owner, user in (("own_work", world.clinic, world.wang, scene["actor"]),
                                        ("foreign_work", world.foreign_clinic, world.zhao,
                                         world.zhao)):
        task = Task(kind="routine_patrol", premises_id=premises.id, cell_id=premises.cell_id,
                    due_date=due, status="open", assignees=[owner])
        db_session.add(task)
        db_session.flush()
        notification = Notification(
            user_id=user.id, kind="escalation", subject_kind="task", subject_id=task.id,
            due_date=due, level="street", cell_id=premises.cell_id, premises_id=premises.id,
            read_at=utcnow() if side == "own_work" else None)
        db_session.add(notification)
        db_session.flush()
        scene[side]["notification"] = notification


def _add_penalties(db_session, scene, world):
    """A penalty at each clinic; ours published, its decision issued and the interview its
    points opened held (no write may land on them); theirs pending with an open interview."""
    from server.models import PremisesMeasure
    from server.services.followups import measures, penalties
    from server.services.followups.documents import Office
    from server.services.followups.points import load_rules

    office = Office(code="walk", name="走查机关", prefixes={"penalty_decision": "走罚"})
    for side, premises in (("own_work", world.clinic), ("foreign_work", world.foreign_clinic)):
        penalty, _ = penalties.record_penalty(db_session, world.admin, {
            "client_uuid": f"walk-penalty-{premises.id}", "decision_number": f"走罚{premises.id}",
            "decided_on": date.today(), "type": "licence_revocation", "legal_basis": "walk",
            "premises_id": premises.id}, point_rules=load_rules(), recheck_days=30)
        measure = db_session.query(PremisesMeasure).filter_by(premises_id=premises.id).one()
        if side == "own_work":
            penalties.publish(db_session, world.admin, penalty.id, published_on=date.today(),
                              where="walk")
            penalties.issue_decision_document(db_session, world.admin, penalty.id, office=office)
            measures.mark_done(db_session, world.admin, measure.id, held_on=date.today(),
                               outcome="walk")
        scene[side].update(penalty=penalty, measure=measure)


def foreign_values(scene):
    """Path parameter values that point outside the coordinator's scope."""
    cells = scene["grid"].cells
    return {
        "cell_id": [cell.id for code, cell in sorted(cells.items()) if code not in scene["cells"]],
        "map_id": [scene["foreign"].id],
        "user_id": [scene["other"].id, scene["admin"].id],
        "assignment_id": [scene["theirs"].id],
        "premises_id": [scene["foreign_work"]["premises"].id],
        "task_id": [scene["foreign_work"]["task"].id],
        "inspection_id": [scene["foreign_work"]["inspection"].id],
        "template_id": [10**6],
        "sha256": [scene["foreign_work"]["photo"].sha256],
        "kind": ["thumb"],
        "device_id": [scene["other_device"].id],
        "order_id": [scene["foreign_work"]["order"].id],
        "document_id": [scene["foreign_work"]["document"].id],
        "complaint_id": [scene["foreign_work"]["complaint"].id, scene["unrouted_complaint"].id],
        "notification_id": [scene["foreign_work"]["notification"].id],
        "case_id": [scene["foreign_work"]["case"].id],
        "penalty_id": [scene["foreign_work"]["penalty"].id],
        "measure_id": [scene["foreign_work"]["measure"].id],
        "job_id": [scene["jobs"]["theirs"].id],
    }


def own_values(scene):
    own = scene["own_work"]
    return {"cell_id": [scene["grid"].cells[OWN_CELL].id], "map_id": [scene["grid"].map.id],
            "user_id": [scene["actor"].id], "assignment_id": [scene["mine"].id],
            "premises_id": [own["premises"].id], "task_id": [own["task"].id],
            "inspection_id": [own["inspection"].id], "template_id": [own["inspection"].template_id],
            "sha256": [own["photo"].sha256], "kind": ["thumb"],
            "device_id": [scene["own_device"].id], "order_id": [own["order"].id],
            "document_id": [own["document"].id], "complaint_id": [own["complaint"].id],
            "notification_id": [own["notification"].id], "case_id": [own["case"].id],
            "penalty_id": [own["penalty"].id], "measure_id": [own["measure"].id],
            "job_id": [scene["jobs"]["mine"].id]}


def bodies(scene, db_session):
    cells = scene["grid"].cells
    district = feature_collection([("Z9", "新区", box(106.3, 39.0, 106.4, 39.1))])
    return {
        "/api/v1/auth/token": {"username": scene["actor"].username,
                               "password": "correct-horse-1"},
        "/api/v1/users/": {"username": "intruder", "password": "12345678x", "role": "admin"},
        "/api/v1/maps/": {"jurisdiction_code": "T9", "name": "x"},
        "/api/v1/assignments/": {"user_id": scene["me"].id, "cell_id": cells["D2"].id},
        "/api/v1/cells/{cell_id}/subdivide": {"parts": 2},
        "/api/v1/maps/{map_id}/levels": as_bytes(district),
        "/api/v1/maps/validate-file": as_bytes(district),
        "/api/v1/premises/": {"name": "外来诊所", "category_code": "clinic",
                              "ownership": "private", "licence_no": "X-1", "address": "外地",
                              "lon": 106.15, "lat": 39.05},
        # A stale base version: an edit must never land, in scope or not.
        "/api/v1/premises/{premises_id}": {"base_version": 99, "contact_phone": "110"},
        "/api/v1/premises/import": "name,category,ownership,licence_no,address,lon,lat\n"
                                   "外来诊所,clinic,private,X-2,外地,106.15,39.05\n".encode(),
        "/api/v1/tasks/": {"kind": "routine_patrol", "due_date": "2026-12-01",
                           "premises_id": scene["foreign_work"]["premises"].id},
        "/api/v1/tasks/{task_id}/cancel": {"reason": "walk"},
        "/api/v1/inspections/": _serializable(inspection_data(
            db_session, scene["foreign_work"]["premises"], template_id=scene["own_work"]["inspection"].template_id)),
        # Another premises than the corrected record's: refused before anything is stored.
        "/api/v1/inspections/{inspection_id}/revisions": {**_serializable(inspection_data(
            db_session, scene["foreign_work"]["premises"],
            template_id=scene["own_work"]["inspection"].template_id)), "reason": "walk"},
        "/api/v1/photos/{sha256}": jpeg_bytes(99),
        "/api/v1/followups/orders/": {
            "client_uuid": "00000000-0000-4000-8000-000000000002",
            "inspection_id": scene["foreign_work"]["inspection"].id, "findings": ["MI-01"],
            "measures": "walk"},
        # Not a move from the state issued: refused in scope and out of it.
        "/api/v1/followups/orders/{order_id}/moves": {"move": "pass", "note": "walk"},
        "/api/v1/devices/": {"username": scene["actor"].username, "password": "correct-horse-1",
                             "device_uid": "walk-device"},
        "/api/v1/sync/push": {"records": [
            {"type": "inspection", "client_uuid": "00000000-0000-4000-8000-000000000001",
             "data": _serializable(inspection_data(
                 db_session, scene["foreign_work"]["premises"],
                 client_uuid="00000000-0000-4000-8000-000000000001",
                 template_id=scene["own_work"]["inspection"].template_id))},
            {"type": "premises_update", "client_uuid": "walk-2",
             "data": {"premises_id": scene["foreign_work"]["premises"].id, "base_version": 1,
                      "contact_phone": "110"}}]},
        "/api/v1/followups/complaints/": {
            "channel": "phone", "category_code": "other", "content": "walk", "anonymous": True,
            "premises_id": scene["foreign_work"]["premises"].id},
        "/api/v1/followups/complaints/{complaint_id}/route": {
            "premises_id": scene["foreign_work"]["premises"].id},
        "/api/v1/followups/complaints/{complaint_id}/verify": {"outcome": "unfounded",
                                                               "result": "walk"},
        "/api/v1/followups/complaints/{complaint_id}/feedback": {"text": "walk"},
        # A foreign source (404), and on the own case moves that are refused for every role:
        # not the next stage, a transfer dated in the future, closing before the last stage.
        "/api/v1/followups/cases/": {
            "client_uuid": "00000000-0000-4000-8000-000000000003", "title": "walk",
            "source": {"kind": "inspection", "id": scene["foreign_work"]["inspection"].id}},
        "/api/v1/followups/cases/{case_id}/stages": {"stage": "decision"},
        "/api/v1/followups/cases/{case_id}/transfers": {
            "kind": "police", "receiving_body": "walk", "reason": "walk",
            "transferred_on": (date.today() + timedelta(days=1)).isoformat()},
        "/api/v1/followups/cases/{case_id}/close": {"note": "walk"},
        "/api/v1/followups/penalties/": {
            "client_uuid": "00000000-0000-4000-8000-000000000004", "decision_number": "走罚外",
            "decided_on": date.today().isoformat(), "type": "warning", "legal_basis": "walk",
            "premises_id": scene["foreign_work"]["premises"].id},
        # Ours is published already, theirs out of reach.
        "/api/v1/followups/penalties/{penalty_id}/publication": {
            "published_on": date.today().isoformat(), "where": "walk"},
        "/api/v1/followups/measures/{measure_id}/done": {"held_on": date.today().isoformat(),
                                                         "outcome": "walk"},
    }


def _serializable(data):
    return {**data, "device_time": data["device_time"].isoformat()}


QUERY = {"/api/v1/cells/lookup": "lon=106.15&lat=39.05",
         "/api/v1/followups/points": lambda scene: "premises_id={}".format(scene["own_work"][
             "premises"].id),
         "/api/v1/followups/overdue": "min_days=0",
         "/api/v1/maps/{map_id}/levels": "level=street"}


def leaks(payload, scene):
    """Return what in a JSON payload belongs to someone else's scope."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if "level" in value and "code" in value and value["code"] not in scene["cells"]:
                found.append(("cell", value["code"]))
            if value.get("cell_code") not in (None, *scene["cells"]):
                found.append(("assignment", value["cell_code"]))
            if isinstance(value.get("username"), str) and value["username"] not in scene["users"]:
                found.append(("user", value["username"]))
            if "jurisdiction_code" in value and value["jurisdiction_code"] != "T1":
                found.append(("map", value["jurisdiction_code"]))
            if "id" in value and ("premises_id" in value or "category_code" in value) and \
                    value.get("cell_id") not in scene["cell_ids"]:
                found.append(("record", value.get("id")))
            if value.get("sha256") not in (None, scene["own_work"]["photo"].sha256):
                found.append(("photo", value["sha256"]))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(payload)
    return found


def snapshot(db_session):
    """Every row that a write could touch, with the columns a write could change."""
    db_session.expire_all()
    return {
        "maps": sorted((m.id, m.status) for m in db_session.query(GridMap)),
        "cells": sorted((c.id, c.code, c.parent_id) for c in db_session.query(GridCell)),
        "users": sorted((u.id, u.username, u.role, u.active) for u in db_session.query(User)),
        "assignments": sorted((a.id, a.user_id, a.cell_id, a.valid_from, a.valid_to)
                              for a in db_session.query(CellAssignment)),
        "premises": sorted((p.id, p.version, p.cell_id) for p in db_session.query(Premises)),
        "tasks": sorted((t.id, t.status) for t in db_session.query(Task)),
        "inspections": sorted(i.id for i in db_session.query(Inspection)),
        "orders": sorted((o.id, o.state) for o in db_session.query(RectificationOrder)),
        "complaints": sorted((c.id, c.status, c.cell_id, c.task_id, c.feedback_at)
                             for c in db_session.query(Complaint)),
        "documents": sorted((d.id, d.subject_id, d.number) for d in db_session.query(Document)),
        "notifications": sorted((n.id, n.user_id, n.read_at)
                                for n in db_session.query(Notification)),
        "cases": sorted((c.id, c.stage, c.state, c.number) for c in db_session.query(Case)),
        "case_stages": sorted((s.id, s.completed_on) for s in db_session.query(CaseStage)),
        "case_transfers": sorted(t.id for t in db_session.query(CaseTransfer)),
        "penalties": sorted((p.id, p.publication_state, p.recheck_inspection_id)
                            for p in db_session.query(Penalty)),
        "points": sorted(p.id for p in db_session.query(PracticePoint)),
        "measures": sorted((m.id, m.state) for m in db_session.query(PremisesMeasure)),
    }


def test_every_endpoint_keeps_a_user_in_their_scope(client, db_session, scene):
    spec = client.get("/api/openapi.json").get_json()
    headers = auth_headers(db_session, scene["actor"])
    before = snapshot(db_session)
    sent = bodies(scene, db_session)
    walked = set()
    operations = [(path, method) for path, ops in spec["paths"].items()
                  for method in ops if method in ("get", "post", "put", "patch", "delete")]
    # Revoking our own token last keeps the walk going.
    operations.sort(key=lambda op: op == ("/api/v1/auth/token", "delete"))
    for path, method in operations:
        params = re.findall(r"{(\w+)}", path)
        value_sets = [foreign_values(scene), own_values(scene)] if params else [{}]
        for values in value_sets:
            for index in range(max((len(values[p]) for p in params), default=1)):
                url = path
                for name in params:
                    url = url.replace("{%s}" % name, str(values[name][index % len(values[name])]))
                if path in QUERY:
                    query = QUERY[path]
                    url += "?" + (query(scene) if callable(query) else query)
                body = sent.get(path)
                kwargs = {"data": body, "content_type": "application/geo+json"} \
                    if isinstance(body, bytes) else {"json": body}
                response = client.open(url, method=method.upper(), headers=headers, **kwargs)
                walked.add((path, method))
                assert response.status_code < 500, (method, url, response.get_data(as_text=True))
                if method != "get":
                    # Refusals (and the coordinator's own sign-in) only; no write may land.
                    assert response.status_code in (200, 201, 204, 401, 403, 404, 409, 422), \
                        (method, url, response.status_code)
                if response.is_json and response.get_data():
                    assert leaks(response.get_json(), scene) == [], (method, url, response.get_json())
    assert walked == set(operations)
    after = snapshot(db_session)
    # Signing in stores a token, not data; nothing else may change.
    assert after == before


def test_the_overdue_list_in_the_walk_shows_own_and_never_foreign_work(client, db_session,
                                                                        scene):
    """The walk's overdue answer is not empty: the leak check above has something to bite on."""
    headers = auth_headers(db_session, scene["actor"])
    items = client.get("/api/v1/followups/overdue", headers=headers).get_json()
    own_task = scene["own_work"]["notification"].subject_id
    assert ("task", own_task, 5) in [(i["kind"], i["id"], i["days_overdue"]) for i in items]
    foreign_task = scene["foreign_work"]["notification"].subject_id
    assert foreign_task not in [i["id"] for i in items if i["kind"] == "task"]
    mine = client.get("/api/v1/followups/notifications", headers=headers).get_json()
    assert [n["id"] for n in mine] == [scene["own_work"]["notification"].id]
