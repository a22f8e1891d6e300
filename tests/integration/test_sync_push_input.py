"""Hostile values in a pushed record reject that record alone, on both databases, never a 500."""

import pytest

from server.models import Inspection, Premises, PushedRecord, RejectedRecord
from tests.factories import inspection_data
from tests.integration.test_sync_push import as_record, device_headers, push

SHA = "ab" * 32


def inspection(db_session, premises, **changes):
    record = as_record(inspection_data(db_session, premises))
    record["data"].update(changes)
    return record


def revision(db_session, premises, corrects_id):
    record = as_record(inspection_data(db_session, premises), kind="inspection_revision")
    record["data"].update(corrects_id=corrects_id, reason="typo")
    return record


def update(premises_id, **changes):
    return {"type": "premises_update", "client_uuid": "upd-bad",
            "data": {"premises_id": premises_id, "base_version": 1, **changes}}


def with_item_photo(db_session, premises, sha):
    record = inspection(db_session, premises)
    record["data"]["items"][0]["photos"] = [sha]
    return record


BAD = {
    # name: (record builder (db_session, premises) -> record, code)
    "premises_id 2**31": (lambda s, p: inspection(s, p, premises_id=2**31), "validation_failed"),
    "premises_id 10**30": (lambda s, p: inspection(s, p, premises_id=10**30), "validation_failed"),
    "premises_id true": (lambda s, p: inspection(s, p, premises_id=True), "validation_failed"),
    "template_id 2**31": (lambda s, p: inspection(s, p, template_id=2**31), "validation_failed"),
    "template_id 10**30": (lambda s, p: inspection(s, p, template_id=10**30), "validation_failed"),
    "template_id true": (lambda s, p: inspection(s, p, template_id=True), "validation_failed"),
    "task_id 10**30": (lambda s, p: inspection(s, p, task_id=10**30), "validation_failed"),
    "inspector_ids [2**31]": (lambda s, p: inspection(s, p, inspector_ids=[2**31]),
                              "validation_failed"),
    "inspector_ids [true]": (lambda s, p: inspection(s, p, inspector_ids=[True]),
                             "validation_failed"),
    "corrects_id 2**31": (lambda s, p: revision(s, p, 2**31), "validation_failed"),
    "corrects_id 10**30": (lambda s, p: revision(s, p, 10**30), "validation_failed"),
    "corrects_id true": (lambda s, p: revision(s, p, True), "validation_failed"),
    "corrects_id 0": (lambda s, p: revision(s, p, 0), "validation_failed"),
    "update premises_id 2**31": (lambda s, p: update(2**31), "validation_failed"),
    "update premises_id 10**30": (lambda s, p: update(10**30), "validation_failed"),
    "update premises_id true": (lambda s, p: update(True), "validation_failed"),
    "update premises_id -1": (lambda s, p: update(-1), "validation_failed"),
    "update base_version true": (lambda s, p: update(p.id, base_version=True),
                                 "validation_failed"),
    "NUL in client_uuid": (lambda s, p: {**update(p.id), "client_uuid": "upd\x00"},
                           "bad_envelope"),
    "NUL in type": (lambda s, p: {**update(p.id), "type": "premises_update\x00"},
                    "bad_envelope"),
    "lone surrogate in client_uuid": (lambda s, p: {**update(p.id), "client_uuid": "u\ud800"},
                                      "bad_envelope"),
    "photo name with a newline": (lambda s, p: inspection(s, p, photos=[SHA + "\n"]),
                                  "validation_failed"),
    "item photo name with a newline": (lambda s, p: with_item_photo(s, p, SHA + "\n"),
                                       "validation_failed"),
    "photo name in capitals": (lambda s, p: inspection(s, p, photos=[SHA.upper()]),
                               "validation_failed"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_id_or_name_rejects_its_record_and_the_batch_goes_on(client, db_session, world,
                                                                   name):
    premises = world.clinic
    headers = device_headers(client)
    build, code = BAD[name]
    bad = build(db_session, premises)
    good = as_record(inspection_data(db_session, premises))
    response = push(client, headers, [bad, good])
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    first, second = response.get_json()["results"]
    assert (first["status"], first["code"]) == ("rejected", code), first
    assert second["status"] == "created", second
    db_session.expire_all()
    assert [i.client_uuid for i in db_session.query(Inspection)] == [good["client_uuid"]]
    assert [p.client_uuid for p in db_session.query(PushedRecord)] == [good["client_uuid"]]
    assert db_session.query(RejectedRecord).count() == 1
    assert db_session.get(Premises, premises.id).version == 1


def test_a_record_the_database_refuses_is_rejected_alone(client, db_session, world,
                                                         monkeypatch):
    """A value the schemas let through but the database refuses costs that record only."""
    from sqlalchemy.exc import DataError

    import server.services.push as push_service

    premises = world.clinic
    headers = device_headers(client)
    real = push_service.update_premises

    def refused_by_the_database(*args, **kwargs):
        raise DataError("UPDATE premises ...", {}, Exception("value too long"))

    monkeypatch.setattr(push_service, "update_premises", refused_by_the_database)
    good = as_record(inspection_data(db_session, premises))
    first, second = push(client, headers, [update(premises.id, contact_phone="110"), good]) \
        .get_json()["results"]
    assert (first["status"], first["code"]) == ("rejected", "not_storable")
    assert second["status"] == "created"
    monkeypatch.setattr(push_service, "update_premises", real)
    db_session.expire_all()
    assert db_session.get(Premises, premises.id).version == 1
    assert db_session.query(PushedRecord).count() == 1
