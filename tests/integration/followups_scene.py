"""The follow-ups scene on the shared world: an officer, the calendars, an inspection with findings.

Imported by the test_followups_* modules (not collected itself).
"""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import time_machine

from server.services.followups.deadlines import load_rules
from server.services.followups.orders import issue_order
from server.services.inspections import submit_inspection
from tests.factories import (
    assign,
    auth_headers,
    inspection_data,
    load_calendars,
    make_user,
    make_world,
)

# A Monday, mid-morning: "today" is the same date in every zone the servers run in.
NOW = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
TODAY = date(2026, 3, 2)
# MI-01 is a key item (3 working days), MI-04 major (15), MI-10 minor (30); MI-02 compliant.
FINDINGS = {"MI-01": "执业许可证过期", "MI-04": "一名护士无执业证书", "MI-10": "公示不全"}


def non_compliant_inspection(session, actor, premises, findings=FINDINGS):
    """Submit an inspection of premises with the given items non-compliant."""
    data = inspection_data(session, premises, conclusion="rectification_required")
    for item in data["items"]:
        if item["item_code"] in findings:
            item.update(result="non_compliant", note=findings[item["item_code"]])
    inspection, _ = submit_inspection(session, actor, data)
    return inspection


def build_scene(session, world=None):
    """Add to the world: li (officer of district D1), the shipped calendars, an inspection."""
    world = world or make_world(session)
    li = make_user(session, "officer", "li")
    assign(session, world.admin, li, world.grid.cells["D1"])
    load_calendars(session)
    return SimpleNamespace(world=world, li=li,
                           inspection=non_compliant_inspection(session, li, world.clinic))


def issue(session, scene, actor=None, **data):
    """Issue an order through the service (as li unless told)."""
    import uuid

    body = {"client_uuid": str(uuid.uuid4()), "inspection_id": scene.inspection.id,
            "findings": ["MI-01", "MI-04"], "measures": "立即停止超范围执业，补办许可证", **data}
    order, _ = issue_order(session, actor or scene.li, body, rules=load_rules())
    return order


@pytest.fixture
def scene(db_session):
    """The shared world and the follow-ups scene, built on the frozen Monday."""
    with time_machine.travel(NOW, tick=False):
        yield build_scene(db_session)


@pytest.fixture
def headers(db_session, scene):
    """Bearer headers by name: admin, chief (supervisor), li (officer), wang (coordinator),
    zhao (coordinator elsewhere), other_chief (supervisor elsewhere)."""
    world = scene.world
    people = {"admin": world.admin, "chief": world.chief, "li": scene.li, "wang": world.wang,
              "zhao": world.zhao, "other_chief": world.other_chief}
    return {name: auth_headers(db_session, user) for name, user in people.items()}
