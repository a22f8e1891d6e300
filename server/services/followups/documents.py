"""Documents (文书): the numbered papers officers hand over on site, and their verification.

A number is taken from the (office, year, prefix) counter row under a row lock inside the
issuing transaction: a rolled-back issue gives its number back (the counter update rolls back
with it), and two issues at once queue on the lock, so numbers have no gaps and no duplicates.
Each document carries an unguessable token; the public page /verify/<token> shows that it is
genuine and nothing personal. PDFs: services/followups/document_pdf.py.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Callable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from server.errors import Conflict, NotFound
from server.models import Document, DocumentCounter, Penalty, RectificationOrder
from server.models._types import utcnow
from server.models.followups import DOCUMENT_KINDS, ORDER_STATES
from server.models.inspections import ITEM_RESULTS
from server.services import audit
from server.services.followups.orders import _require, get_order
from server.services.followups.rechecks import OUTCOME_MOVES, side_by_side
from server.services.followups.transitions import shipped_transitions

# What secrets.token_urlsafe makes: anything else is no token of ours.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class Office:
    """The issuing office as configured: code, name, and number prefix per document kind."""

    code: str
    name: str
    prefixes: dict

    @classmethod
    def from_config(cls, config):
        return cls(code=config["DOCUMENT_OFFICE_CODE"], name=config["DOCUMENT_OFFICE_NAME"],
                   prefixes={"rectification_order": config["DOCUMENT_OFFICE_PREFIX"],
                             "recheck_result": config["DOCUMENT_RECHECK_PREFIX"],
                             "penalty_decision": config["DOCUMENT_PENALTY_PREFIX"]})


def format_number(prefix, year, serial):
    """Render a document number, e.g. 乌卫监意〔2026〕第0042号."""
    return f"{prefix}〔{year}〕第{serial:04d}号"


def next_serial(session, office_code, year, prefix):
    """Take the next serial of (office, year, prefix), locking its counter row until commit.

    The insert-if-missing makes the row exist (two first issues of a year may race to create
    it); SELECT ... FOR UPDATE then queues every issue of that counter behind the one before.
    """
    table = DocumentCounter.__table__
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)
    session.execute(insert(table).values(office_code=office_code, year=year, prefix=prefix,
                                         last_serial=0).on_conflict_do_nothing())
    counter = session.scalar(select(DocumentCounter).where(
        DocumentCounter.office_code == office_code, DocumentCounter.year == year,
        DocumentCounter.prefix == prefix).with_for_update().execution_options(
            populate_existing=True))
    counter.last_serial += 1
    session.flush()
    return counter.last_serial


def give_back_serial(session, office_code, year, prefix):
    """Return the serial just taken when nothing is numbered with it after all (the counter is
    still locked by this transaction, so nobody took the next one meanwhile)."""
    counter = session.get(DocumentCounter, (office_code, year, prefix))
    counter.last_serial -= 1
    session.flush()


def document_state(document):
    """Return the audited state of a document."""
    return {"kind": document.kind, "subject_id": document.subject_id, "number": document.number,
            "office_code": document.office_code, "premises_id": document.premises_id}


def _existing(session, kind, subject_id):
    return session.scalar(select(Document).where(Document.kind == kind,
                                                 Document.subject_id == subject_id)
                          .execution_options(populate_existing=True))


def issue_order_document(session, actor, order_id, *, office, transitions=None):
    """Issue the document of an order in scope; return (document, "created" | "existing")."""
    transitions = transitions or shipped_transitions()
    order = get_order(session, actor, order_id)
    _require(actor, transitions.issue_roles)
    return issue_document(session, actor, "rectification_order", order, office=office)


def issue_recheck_document(session, actor, order_id, *, office, transitions=None):
    """Issue the recheck result (整改复查意见书) of an order rechecked (passed or failed), once;
    return (document, "created" | "existing"). 409 recheck_not_done before the outcome."""
    transitions = transitions or shipped_transitions()
    order = get_order(session, actor, order_id)
    _require(actor, transitions.issue_roles)
    if not any(move.move in OUTCOME_MOVES for move in order.moves):
        raise Conflict(f"Order {order.id} is {order.state}: its recheck has no outcome yet.",
                       code="recheck_not_done", details={"state": order.state})
    return issue_document(session, actor, "recheck_result", order, office=office)


def issue_document(session, actor, kind, subject, *, office):
    """Issue the document of a kind about a subject already read in the actor's scope (it has
    id, premises_id, cell_id), once; return (document, "created" | "existing")."""
    existing = _existing(session, kind, subject.id)
    if existing is not None:
        return existing, "existing"
    year = date.today().year
    prefix = office.prefixes[kind]
    serial = next_serial(session, office.code, year, prefix)
    # Under the counter's lock: an issue of the same subject that committed meanwhile shows now.
    existing = _existing(session, kind, subject.id)
    if existing is not None:
        give_back_serial(session, office.code, year, prefix)  # no gap for an issue not made
        return existing, "existing"
    document = Document(
        kind=kind, subject_kind=_kinds()[kind].subject_kind, subject_id=subject.id,
        office_code=office.code, year=year, prefix=prefix, serial=serial,
        number=format_number(prefix, year, serial), issued_at=utcnow(),
        verification_token=secrets.token_urlsafe(24), premises_id=subject.premises_id,
        cell_id=subject.cell_id, issued_by_id=actor.id)
    session.add(document)
    session.flush()
    audit.record(session, actor, "document.issue", "document", document.id,
                 after=document_state(document))
    return document, "created"


@dataclass(frozen=True)
class Kind:
    """What a document kind is about: its model, how to read it in scope, its public state."""

    subject_kind: str
    model: type
    get_in_scope: Callable  # (session, actor, id) -> subject, or NotFound
    state_label: Callable  # subject -> (zh, en)


def _kinds():
    from server.services.followups import penalties  # penalties issue documents through here

    return {"rectification_order": Kind("rectification_order", RectificationOrder, get_order,
                                        lambda order: ORDER_STATES[order.state]),
            "recheck_result": Kind("rectification_order", RectificationOrder, get_order,
                                   lambda order: ORDER_STATES[order.state]),
            "penalty_decision": Kind("penalty", Penalty, penalties.get_penalty,
                                     penalties.public_state_label)}


def get_document(session, actor, document_id):
    """Return a document whose subject is in the actor's scope, or raise NotFound."""
    document = session.get(Document, document_id)
    if document is None or document.kind not in _kinds():
        raise NotFound(f"Document {document_id} not found.")
    try:
        _kinds()[document.kind].get_in_scope(session, actor, document.subject_id)
    except NotFound:
        raise NotFound(f"Document {document_id} not found.") from None
    return document


def subject_of(session, document):
    """Return the record a document is about (an order, a penalty)."""
    return session.get(_kinds()[document.kind].model, document.subject_id)


@dataclass(frozen=True)
class Verification:
    """What the public page shows of a document: nothing personal."""

    number: str
    kind_label: tuple
    issued_on: date
    premises_name: str
    office_name: str
    state_label: tuple


def verify(session, token, *, office):
    """Return the public facts of the document with this token, or raise NotFound."""
    if not TOKEN.fullmatch(token or ""):  # e.g. a NUL, which PostgreSQL refuses to compare
        raise NotFound("No such document.")
    document = session.scalar(select(Document).where(Document.verification_token == token))
    if document is None:
        raise NotFound("No such document.")
    subject = subject_of(session, document)
    return Verification(number=document.number, kind_label=DOCUMENT_KINDS[document.kind],
                        issued_on=document.issued_at.astimezone().date(), premises_name=document.premises.name,
                        office_name=office.name,
                        state_label=_kinds()[document.kind].state_label(subject))


def pdf_content(session, document, *, office, verify_url):
    """Return what the PDF of a document says: the common head and foot, and what its kind's
    body reads (document_pdf.BODIES)."""
    content = {"kind": document.kind, "title": DOCUMENT_KINDS[document.kind][0],
               "number": document.number, "premises_name": document.premises.name,
               "premises_address": document.premises.address, "office_name": office.name,
               "issued_on": document.issued_at.astimezone().date(), "verify_url": verify_url}
    return {**content, **BODY_CONTENT[document.kind](session, subject_of(session, document))}


def _order_content(session, order):
    return {"findings": [(_finding_text(f), f.get("legal_basis") or "") for f in order.findings],
            "measures": order.measures, "deadline": order.deadline}


def _finding_text(finding):
    """The checklist item as it stood, with the officer's note of what was found."""
    text = finding.get("text") or finding["item_code"]
    return f"{text}（{finding['note']}）" if finding.get("note") else text


def _recheck_content(session, order):
    view = side_by_side(session, order)
    return {"order_id": order.id, "issued_on_order": order.issued_on, "deadline": order.deadline,
            "findings": [(_finding_text({**f, "note": (f["before"] or {}).get("note")}),
                          f["legal_basis"], _result_label(f["before"]), _result_label(f["after"]))
                         for f in view["findings"]],
            "outcome": view["outcome"]}


def _result_label(result):
    if result is None:
        return "—"
    label = ITEM_RESULTS[result["result"]][0]
    return f"{label}（{result['note']}）" if result.get("note") else label


def _penalty_content(session, penalty):
    from server.services.followups.penalties import document_content

    return {"paragraphs": document_content(penalty)}


# What each kind's body reads.
BODY_CONTENT = {"rectification_order": _order_content, "recheck_result": _recheck_content,
                "penalty_decision": _penalty_content}
