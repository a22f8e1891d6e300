"""The reference terminal stores pulled orders like any other entity, and drops tombstoned ones."""

import json

from sync.outbox import Outbox


def page(items, reset=False):
    return {"items": items, "next_cursor": "c1.9", "scope": "s", "reset": reset,
            "has_more": False}


def test_an_order_is_stored_updated_and_deleted(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    order = {"id": 7, "state": "issued", "findings": [{"item_code": "MI-01"}]}
    outbox.apply_pull(page([{"type": "order", "id": 7, "op": "upsert", "data": order}], True))
    outbox.apply_pull(page([{"type": "order", "id": 7, "op": "upsert",
                             "data": {**order, "state": "reported_rectified"}}]))
    assert outbox.status()["entities"] == {"order": 1}
    stored = outbox.db.execute("SELECT data FROM entities WHERE type = 'order'").fetchone()[0]
    assert json.loads(stored)["state"] == "reported_rectified"
    outbox.apply_pull(page([{"type": "order", "id": 7, "op": "delete", "data": None}]))
    assert outbox.status()["entities"] == {}
    outbox.close()
