"""Two supervisors answering the same complainant at the same moment (PostgreSQL): one answer
is recorded, the other is told it came too late."""

from sqlalchemy import select

from server.errors import Conflict
from server.models import AuditEvent, Complaint, User
from server.services.followups import complaints
from tests.factories import load_calendars, make_world
from tests.integration.test_photo_races import (
    blocked_or_done,
    in_background,
    the_clinic,
)
from tests.live import concurrent_sessions


def verified_complaint(session):
    """The shared world and a real-name complaint about its clinic, verified."""
    world = make_world(session)
    load_calendars(session)
    complaint = complaints.intake(session, world.admin, {
        "channel": "phone", "category_code": "other", "content": "投诉内容", "anonymous": False,
        "premises_id": the_clinic(session).id,
        "complainant": {"name": "张三", "phone": "13800138000"}}, feedback_days=15)
    complaints.verify(session, world.admin, complaint.id, outcome="verified", result="属实")


def test_two_answers_at_once_record_one(tmp_path):
    with concurrent_sessions(tmp_path, 3, prepare=verified_complaint) as (one, other, observer):
        complaint_id = observer.scalar(select(Complaint.id))
        observer.commit()

        def answer(session, username, text):
            try:
                actor = session.scalar(select(User).where(User.username == username))
                complaints.give_feedback(session, actor, complaint_id, text=text)
                session.commit()
                return "recorded"
            except Conflict as error:
                session.rollback()
                return error.code

        complaints.give_feedback(one, one.scalar(select(User).where(User.username == "liu")),
                                 complaint_id, text="第一个答复")  # not committed yet
        second, outcome = in_background(lambda: answer(other, "root", "第二个答复"))
        blocked_or_done(observer, second)  # it waits on the row the first answer holds
        one.commit()
        second.join(15)
        assert outcome == ["feedback_already_given"]
        stored = observer.get(Complaint, complaint_id)
        assert stored.feedback_text == "第一个答复"
        assert observer.scalar(select(User.username).where(User.id == stored.feedback_by_id)) == "liu"
        assert len(observer.scalars(select(AuditEvent).where(
            AuditEvent.action == "complaint.feedback")).all()) == 1
