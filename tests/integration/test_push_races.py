"""Two terminals pushing batches that name the same photos at the same moment (PostgreSQL).

Each batch locks its photos once, in one order, before applying its records: batches naming
shared photos in opposite record order wait for each other instead of deadlocking.
"""

import threading

from sqlalchemy import select

import server.services.push as push_service
from server.models import Inspection, User
from server.services.evidence import EvidenceLimits
from tests.factories import inspection_data, make_world
from tests.integration.test_photo_races import blocked_or_done, in_background, the_clinic
from tests.live import concurrent_sessions

P, Q = "aa" * 32, "bb" * 32


def record(session, premises, photo):
    data = inspection_data(session, premises, photos=[photo])
    return {"type": "inspection", "client_uuid": data["client_uuid"],
            "data": {**data, "device_time": data["device_time"].isoformat()}}


def test_batches_naming_shared_photos_in_opposite_order_do_not_deadlock(tmp_path, monkeypatch):
    with concurrent_sessions(tmp_path, 3, prepare=make_world) as (one, other, observer):
        wang = one.scalar(select(User).where(User.username == "wang"))
        premises = the_clinic(one)
        batches = {one: [record(one, premises, P), record(one, premises, Q)],
                   other: [record(other, premises, Q), record(other, premises, P)]}
        # The first batch stops after its first record until the second one is waiting.
        first_applied, go_on = threading.Event(), threading.Event()
        apply_record = push_service.apply_record

        def pausing(session, *args):
            answer = apply_record(session, *args)
            if session is one and not first_applied.is_set():
                first_applied.set()
                go_on.wait(10)
            return answer

        monkeypatch.setattr(push_service, "apply_record", pausing)

        def push_and_commit(session):
            try:
                results = push_service.push(session, session.get(User, wang.id), None,
                                            batches[session], limits=EvidenceLimits())
                session.commit()
            except Exception:
                session.rollback()  # as the request would: the other batch may go on
                raise
            return [result.status for result in results]

        first, first_outcome = in_background(lambda: push_and_commit(one))
        assert first_applied.wait(10)
        second, second_outcome = in_background(lambda: push_and_commit(other))
        blocked_or_done(observer, second)  # it waits on a photo the first batch holds
        go_on.set()
        first.join(15)
        second.join(15)
        assert first_outcome == [["created", "created"]], first_outcome
        assert second_outcome == [["created", "created"]], second_outcome
        assert observer.query(Inspection).count() == 4
