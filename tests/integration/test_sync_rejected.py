"""Refused push records are kept for diagnosis, within bounds: per record, per device, in time."""

import hashlib
import json
from datetime import timedelta

import time_machine

from server.models import AuditEvent, Device, RejectedRecord
from server.models._types import utcnow
from tests.factories import inspection_data
from tests.integration.test_sync_push import as_record, device_headers, push


def refused(db_session, premises, **extra):
    record = as_record(inspection_data(db_session, premises))
    record["data"].update(extra)  # an unknown field: the record is refused
    return record


def kept(db_session):
    db_session.expire_all()
    return db_session.query(RejectedRecord).order_by(RejectedRecord.id).all()


def test_a_large_refused_payload_is_kept_as_an_excerpt_with_its_size_and_digest(
        client, app, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    record = refused(db_session, premises, junk="x" * 400_000)
    [result] = push(client, headers, [record]).get_json()["results"]
    assert result["status"] == "rejected"
    [row] = kept(db_session)
    limit = app.config["REJECTED_RECORDS_PAYLOAD_MAX_BYTES"]
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    assert row.payload == {"truncated": True, "size": len(text),
                           "sha256": hashlib.sha256(text.encode()).hexdigest(),
                           "excerpt": text[:limit]}
    assert len(json.dumps(row.payload)) < limit + 500
    assert row.reasons["code"] == "validation_failed"


def test_a_small_refused_payload_is_kept_whole(client, db_session, world):
    premises = world.clinic
    headers = device_headers(client)
    record = refused(db_session, premises, junk="x")
    push(client, headers, [record])
    [row] = kept(db_session)
    assert row.payload == record and row.client_uuid == record["client_uuid"]


def test_a_payload_with_nul_is_kept_escaped(client, db_session, world):
    headers = device_headers(client)
    record = {"type": "premises_update\x00", "client_uuid": "a\x00b", "data": {"x": "\x00"}}
    [result] = push(client, headers, [record]).get_json()["results"]
    assert (result["status"], result["code"]) == ("rejected", "bad_envelope")
    [row] = kept(db_session)
    assert row.payload["truncated"] is True and "\\u0000" in row.payload["excerpt"]
    assert "\x00" not in row.client_uuid + row.record_type


def test_each_device_keeps_only_its_newest_refused_records(client, app, db_session, world,
                                                          monkeypatch):
    premises = world.clinic
    monkeypatch.setitem(app.config, "REJECTED_RECORDS_PER_DEVICE", 3)
    headers = device_headers(client)
    other = device_headers(client, device_uid="term-0002")
    push(client, other, [refused(db_session, premises, junk=1)])
    first = [refused(db_session, premises, junk=1) for _ in range(2)]
    second = [refused(db_session, premises, junk=1) for _ in range(2)]
    push(client, headers, first)
    push(client, headers, second)
    rows = kept(db_session)
    devices = {d.id: d.device_uid for d in db_session.query(Device)}
    mine = [row.client_uuid for row in rows if devices[row.device_id] == "term-0001"]
    assert mine == [r["client_uuid"] for r in first[1:] + second]
    assert [devices[row.device_id] for row in rows].count("term-0002") == 1


def test_prune_deletes_refused_records_older_than_the_retention(runner, app, client, db_session,
                                                                world):
    premises = world.clinic
    headers = device_headers(client)
    days = app.config["REJECTED_RECORDS_RETENTION_DAYS"]
    with time_machine.travel(utcnow() - timedelta(days=days + 1), tick=False):
        old = refused(db_session, premises, junk=1)
        push(client, device_headers(client, device_uid="term-old"), [old])
    recent = refused(db_session, premises, junk=1)
    push(client, headers, [recent])
    result = runner.invoke(args=["sync", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 refused push record(s)" in result.output
    assert [row.client_uuid for row in kept(db_session)] == [recent["client_uuid"]]
    assert db_session.query(AuditEvent).filter_by(action="sync.prune_rejected").count() == 1
