"""Rows that take their place in a sequence only when their transaction commits.

The audit chain and the change feed are both ordered logs. If a row took its number when it
was written, a transaction still open could hold number 10 while number 11 is already
committed and read: a terminal pulling then would skip 10 for good. So rows are collected
while the transaction runs and numbered at commit, under a row lock held for the moment of
the commit only: the numbers follow the commit order, and a reader that sees N has seen
everything below N.

A row recorded inside a savepoint that rolls back is dropped with it.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

PENDING = "commit_order.pending"
SEAL_AT_ONCE = "commit_order.seal_at_once"  # session.info flag: number each row as it comes

# Sealers run, and take their locks, in this order whatever the import order: no deadlocks.
ORDER = ("audit", "feed")
_sealers = {}


def sealer(name):
    """Register seal(session, rows) for the rows deferred under name; runs before commit."""
    if name not in ORDER:
        raise ValueError(f"add {name!r} to commit_order.ORDER")

    def register(function):
        _sealers[name] = function
        return function

    return register


def defer(session, name, row):
    """Keep row until the transaction commits, then hand it to the sealer of name."""
    session = _real(session)
    if not session.in_transaction():
        session.begin()  # so that a rollback before any SQL still drops the row
    session.info.setdefault(PENDING, []).append((name, row, session.get_nested_transaction()))
    if session.info.get(SEAL_AT_ONCE):
        seal(session)


def seal(session):
    """Number and write every deferred row now; return how many."""
    session = _real(session)
    pending = session.info.pop(PENDING, None)
    if not pending:
        return 0
    for name in ORDER:
        rows = [row for kind, row, _ in pending if kind == name]
        if rows:
            _sealers[name](session, rows)
    return len(pending)


def _real(session):
    return session() if isinstance(session, scoped_session) else session


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session):
    if not session.in_nested_transaction() and session.info.get(PENDING):
        session.flush()  # write everything else first: the head locks are held only for this
        seal(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session, previous_transaction):
    pending = session.info.get(PENDING)
    if not pending:
        return
    # A failed flush rolls back an inner subtransaction; what the database undoes is up to
    # the first savepoint (or the whole transaction) above it.
    undone = previous_transaction
    while not undone.nested and undone.parent is not None:
        undone = undone.parent
    if undone.parent is None:
        session.info.pop(PENDING, None)
        return
    session.info[PENDING] = [(name, row, savepoint) for name, row, savepoint in pending
                             if not _inside(savepoint, undone)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session, transaction):
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def _inside(transaction, ancestor):
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
