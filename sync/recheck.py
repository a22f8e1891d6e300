"""Build a recheck (整改复查) of a pulled rectification order, offline, into the outbox.

A recheck is an inspection of kind "recheck" naming the order's rectification_recheck task,
with a result for exactly the order's findings; the server moves the order when it arrives.
"""

import json
import uuid
from datetime import UTC, datetime

from sync.outbox import file_sha256


class RecheckInvalid(ValueError):
    """The recheck cannot be built from what the terminal holds, or does not cover the findings."""


def _entity(outbox, kind, entity_id):
    row = outbox.db.execute("SELECT data FROM entities WHERE type = ? AND id = ?",
                            (kind, entity_id)).fetchone()
    return json.loads(row[0]) if row else None


def _template_for(outbox, category_code):
    """Return the id of the newest active pulled checklist that applies to the category."""
    found = [json.loads(data) for (data,) in outbox.db.execute(
        "SELECT data FROM entities WHERE type = 'checklist'")]
    found = [t for t in found if t.get("status") == "active"
             and category_code in (t.get("categories") or [])]
    if not found:
        raise RecheckInvalid(f"No pulled checklist applies to {category_code} premises: pull first.")
    return max(found, key=lambda t: (t["version"], t["id"]))["id"]


def build_recheck(outbox, order_id, *, compliant=(), non_compliant=None, photos=(),
                  item_photos=None, findings="", gps=None, now=None):
    """Return (inspection data, photo paths) rechecking a pulled order.

    compliant: item codes compliant now; non_compliant: {code: note} of those still not;
    together exactly the order's findings. photos: paths of general photos; item_photos:
    {code: [paths]}.
    """
    non_compliant = dict(non_compliant or {})
    item_photos = dict(item_photos or {})
    order = _entity(outbox, "order", order_id)
    if order is None:
        raise RecheckInvalid(f"Order {order_id} is not on this terminal: pull first.")
    task = _entity(outbox, "task", order.get("task_id")) if order.get("task_id") else None
    if task is None or task.get("status") != "open":
        raise RecheckInvalid(f"The recheck task of order {order_id} is not open on this "
                             "terminal (not assigned to you, or done).")
    premises = _entity(outbox, "premises", order["premises_id"])
    if premises is None:
        raise RecheckInvalid(f"Premises {order['premises_id']} is not on this terminal: pull first.")
    codes = [finding["item_code"] for finding in order["findings"]]
    given = list(compliant) + list(non_compliant)
    missing = [code for code in codes if code not in given]
    extra = sorted({code for code in given if code not in codes}
                   | {code for code in item_photos if code not in codes})
    twice = sorted({code for code in given if given.count(code) > 1})
    if missing or extra or twice:
        raise RecheckInvalid(f"Give each finding of order {order_id} ({', '.join(codes)}) once: "
                             f"missing {missing}, not findings {extra}, twice {twice}.")
    empty = [code for code, note in non_compliant.items() if not (note or "").strip()]
    if empty:
        raise RecheckInvalid(f"Say what is still wrong for {', '.join(empty)}.")
    paths = list(photos)
    items = []
    for code in codes:
        shas = []
        for path in item_photos.get(code, []):
            shas.append(file_sha256(path))
            paths.append(path)
        items.append({"item_code": code, "result": "non_compliant" if code in non_compliant
                      else "compliant", "note": non_compliant.get(code, ""), "photos": shas})
    data = {"client_uuid": str(uuid.uuid4()), "kind": "recheck", "task_id": task["id"],
            "premises_id": premises["id"], "template_id": _template_for(outbox,
                                                                        premises["category_code"]),
            "device_time": (now or datetime.now(UTC)).isoformat(), "gps": gps, "items": items,
            "photos": [], "findings": findings,
            "conclusion": "rectification_required" if non_compliant else "compliant"}
    return data, paths


def queue_recheck(outbox, order_id, **kwargs):
    """Build a recheck and queue it with its photos; return its client UUID."""
    data, paths = build_recheck(outbox, order_id, **kwargs)
    return outbox.add_record("inspection", data, paths)
