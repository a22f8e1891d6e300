"""Two officers issuing documents at the same moment (PostgreSQL): consecutive numbers, no
duplicate, and the same order's document issued once.

The number comes from the counter row under SELECT ... FOR UPDATE: the second issue waits on
the first's lock, then takes the next serial (or finds the first's document of the same order).
"""

import uuid
from datetime import date

import time_machine
from sqlalchemy import select

from server.models import Document, RectificationOrder, User
from server.services.followups.deadlines import load_rules
from server.services.followups.documents import Office, issue_order_document
from server.services.followups.orders import issue_order
from tests.integration.followups_scene import NOW, build_scene
from tests.integration.test_photo_races import blocked_or_done, in_background
from tests.live import concurrent_sessions

OFFICE = Office(code="wuhai", name="乌海市卫生健康综合监督执法局",
                prefixes={"rectification_order": "乌卫监意"})


def prepare(session):
    """The follow-ups scene with three orders (deadline given: no calendar needed), the last
    one's document issued: the counter row exists, so only its row lock can queue the issues."""
    scene = build_scene(session)
    for _ in range(3):
        order, _ = issue_order(session, scene.li, {
            "client_uuid": str(uuid.uuid4()), "inspection_id": scene.inspection.id,
            "findings": ["MI-01"], "measures": "补办许可证",
            "deadline": date(2026, 3, 9)}, rules=load_rules())
    issue_order_document(session, scene.li, order.id, office=OFFICE)


def _race(one, other, observer, first_order, second_order):
    li = one.scalar(select(User).where(User.username == "li"))
    first, _ = issue_order_document(one, li, first_order, office=OFFICE)
    one.flush()  # numbered, not committed: the first request is still going

    def issue_and_commit():
        try:
            document, outcome = issue_order_document(other, other.get(User, li.id), second_order,
                                                     office=OFFICE)
            other.commit()
            return document.id, document.number, outcome
        except Exception:
            other.rollback()
            raise

    issuing, outcome = in_background(issue_and_commit)
    blocked_or_done(observer, issuing)
    assert issuing.is_alive(), outcome  # it waits on the counter's row lock
    first_number = first.number
    one.commit()
    issuing.join(10)
    return first_number, outcome


@time_machine.travel(NOW, tick=False)  # one day throughout, whatever the real date
def test_two_documents_issued_at_once_get_consecutive_numbers(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        orders = one.scalars(select(RectificationOrder.id).order_by(RectificationOrder.id)).all()
        first_number, outcome = _race(one, other, observer, orders[0], orders[1])
        assert first_number == "乌卫监意〔2026〕第0002号"
        assert outcome[0][1:] == ("乌卫监意〔2026〕第0003号", "created"), outcome
        observer.expire_all()
        assert sorted(observer.scalars(select(Document.serial))) == [1, 2, 3]


@time_machine.travel(NOW, tick=False)  # one day throughout, whatever the real date
def test_the_same_orders_document_issued_twice_at_once_is_issued_once(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        order = one.scalar(select(RectificationOrder.id).order_by(RectificationOrder.id))
        first_number, outcome = _race(one, other, observer, order, order)
        assert outcome[0][1:] == (first_number, "existing"), outcome
        observer.expire_all()
        assert observer.scalars(select(Document.number).where(
            Document.subject_id == order)).all() == [first_number]
