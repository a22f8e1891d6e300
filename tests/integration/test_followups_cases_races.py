"""Two officers advancing the same case at the same moment (PostgreSQL): one wins, one is told.

The advance is a conditional UPDATE ... WHERE stage = :expected; the second waits on the
first's row lock, then finds the stage moved and answers illegal_stage naming where it is.
"""

import uuid

import time_machine
from sqlalchemy import select

from server.models import AuditEvent, Case, CaseStage, User
from server.services.followups.cases import CaseNumbering, IllegalStage, advance, open_case
from tests.integration.followups_scene import NOW, build_scene
from tests.integration.test_photo_races import blocked_or_done, in_background
from tests.live import concurrent_sessions


def prepare(session):
    """The follow-ups scene and a case opened from its inspection, at filing."""
    scene = build_scene(session)
    open_case(session, scene.li, {
        "client_uuid": str(uuid.uuid4()), "title": "超范围执业",
        "source": {"kind": "inspection", "id": scene.inspection.id}},
        numbering=CaseNumbering())


@time_machine.travel(NOW, tick=False)  # one day throughout, whatever the real date
def test_two_advances_at_once_cannot_both_win(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=prepare) as (one, other, observer):
        li = one.scalar(select(User).where(User.username == "li"))
        case_id = one.scalar(select(Case.id))
        advance(one, li, case_id, {"stage": "investigation", "note": "第一"})
        one.flush()  # moved, not committed: the first request is still going

        def advance_and_commit():
            try:
                advance(other, other.get(User, li.id), case_id,
                        {"stage": "investigation", "note": "第二"})
                other.commit()
            except Exception:
                other.rollback()  # as the request would
                raise

        second, outcome = in_background(advance_and_commit)
        blocked_or_done(observer, second)  # the second waits on the first's row lock
        assert second.is_alive(), outcome  # it did wait: it read filing, as the first had
        one.commit()
        second.join(10)
        assert isinstance(outcome[0], IllegalStage), outcome
        assert outcome[0].details == {"stage": "investigation", "state": "open",
                                      "allowed": ["notification"]}
        observer.expire_all()
        assert observer.get(Case, case_id).stage == "investigation"
        assert [(row.stage, row.note) for row in observer.scalars(
            select(CaseStage).order_by(CaseStage.id))] == [("filing", "第一"),
                                                           ("investigation", "")]
        assert observer.scalars(select(AuditEvent.action).where(
            AuditEvent.entity_type == "case").order_by(AuditEvent.id)).all() == \
            ["case.open", "case.advance"]


def test_two_openings_of_the_same_source_at_once_take_one_number(tmp_path):
    with time_machine.travel(NOW, tick=False), \
            concurrent_sessions(tmp_path, 3, prepare=build_scene) as (one, other, observer):
        from server.models import DocumentCounter, Inspection

        li = one.scalar(select(User).where(User.username == "li"))
        inspection_id = one.scalar(select(Inspection.id))
        data = {"title": "超范围执业", "source": {"kind": "inspection", "id": inspection_id}}
        open_case(one, li, {**data, "client_uuid": str(uuid.uuid4())},
                  numbering=CaseNumbering())
        one.flush()

        def open_and_commit():
            try:
                open_case(other, other.get(User, li.id), {**data, "client_uuid": str(uuid.uuid4())},
                          numbering=CaseNumbering())
                other.commit()
            except Exception:
                other.rollback()
                raise

        second, outcome = in_background(open_and_commit)
        blocked_or_done(observer, second)  # waits on the number's lock
        assert second.is_alive(), outcome
        one.commit()
        second.join(10)
        assert getattr(outcome[0], "code", None) == "case_exists", outcome
        observer.expire_all()
        assert observer.scalars(select(Case.number)).all() == ["乌卫立〔2026〕第0001号"]
        assert observer.scalar(select(DocumentCounter.last_serial)) == 1
