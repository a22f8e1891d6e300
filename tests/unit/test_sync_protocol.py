"""The pure parts of the sync protocol: batch isolation, envelopes, cursors, collapsing."""

import pytest

from sync.protocol import (
    MAX_BATCH_RECORDS,
    BatchTooLarge,
    RecordConflict,
    RecordRejected,
    SnapshotCursor,
    collapse,
    decode_cursor,
    encode_cursor,
    parse_cursor,
    push_batch,
)


def record(uuid, kind="inspection", **data):
    return {"type": kind, "client_uuid": uuid, "data": data}


def test_one_rejected_record_does_not_stop_the_others():
    def apply_one(rec):
        if rec["client_uuid"] == "bad":
            raise RecordRejected("items_invalid", "missing items", {"items": ["MI-01"]})
        return "created", 7, []

    results = push_batch([record("a"), record("bad"), record("c")], apply_one)
    assert [r.status for r in results] == ["created", "rejected", "created"]
    assert results[1].reasons == {"items": ["MI-01"]} and results[1].code == "items_invalid"


def test_conflict_carries_the_current_version():
    def apply_one(rec):
        raise RecordConflict("stale_version", "changed", current={"version": 3})

    [result] = push_batch([record("a", "premises_update")], apply_one)
    assert result.status == "conflict" and result.current == {"version": 3}


@pytest.mark.parametrize("bad", [
    {"type": "nonsense", "client_uuid": "x", "data": {}},
    {"type": "inspection", "data": {}},
    {"type": "inspection", "client_uuid": "x", "data": "not an object"},
    "not a record",
])
def test_bad_envelopes_are_rejected_without_calling_the_server(bad):
    called = []
    results = push_batch([bad, record("ok")], lambda rec: called.append(rec) or ("created", 1, []))
    assert results[0].status == "rejected" and results[0].code == "bad_envelope"
    assert results[1].status == "created" and len(called) == 1


def test_rejected_records_are_handed_over_for_diagnosis():
    kept = []
    push_batch([record("a", "bogus")], lambda rec: ("created", 1, []),
               on_rejected=lambda rec, result: kept.append((rec["client_uuid"], result.code)))
    assert kept == [("a", "bad_envelope")]


def test_oversized_batch_is_refused_whole():
    with pytest.raises(BatchTooLarge):
        push_batch([record(str(i)) for i in range(MAX_BATCH_RECORDS + 1)], lambda rec: None)


def test_cursors_round_trip_and_foreign_ones_are_refused():
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) == 0 and decode_cursor("") == 0
    for bad in ("42", "c9.1", "c1.-1", "c1.x", "c1." + "9" * 30):
        with pytest.raises(ValueError):
            decode_cursor(bad)


def test_snapshot_cursors_round_trip():
    full = SnapshotCursor(resume=120, step=1, after_id=4031, scope="a" * 32)
    delta = SnapshotCursor(resume=7, step=0, after_id=0, scope="all", base="f00d" * 8)
    catching_up = SnapshotCursor(resume=7, step=10, after_id=0, scope="a" * 32,
                                 base="f00d" * 8, until=950)
    assert catching_up.encode().endswith(".h950")
    for cursor in (full, delta, catching_up):
        assert parse_cursor(cursor.encode()) == cursor
    assert parse_cursor(encode_cursor(42)) == 42
    assert parse_cursor(None) == 0 and parse_cursor("") == 0


@pytest.mark.parametrize("bad", [
    "s1", "s1.1.2.3", "s1.1.2.3.abc", "s1.1.2.3.abc.-.x", "s1.x.2.3.abc.-", "s1.1.-2.3.abc.-",
    "s1.1.2.3..-", "s1.1.2.3.ab;c.-", "s1.1.2.3.abc.d'e", "s2.1.2.3.abc.-", "s1.1.2." + "9" * 30 + ".a.-",
    "s1.１.2.3.abc.-", "s1.1.2.3.abc.-.h5", "s1.1.2.3.abc.def.h", "s1.1.2.3.abc.def.hx",
    "s1.1.2.3.abc.def.h5.h6",
])
def test_foreign_snapshot_cursors_are_refused(bad):
    with pytest.raises(ValueError):
        parse_cursor(bad)


def test_collapse_keeps_the_last_event_of_each_entity_in_order():
    events = [{"seq": 1, "entity_type": "premises", "entity_id": "1", "op": "upsert"},
              {"seq": 2, "entity_type": "task", "entity_id": "1", "op": "upsert"},
              {"seq": 3, "entity_type": "premises", "entity_id": "1", "op": "delete"}]
    assert [(e["seq"], e["op"]) for e in collapse(events)] == [(2, "upsert"), (3, "delete")]
