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
from sqlalchemy.orm import scoped_session

PENDING = "commit_order.pending"
SEAL_AT_ONCE = "commit_order.seal_at_once"  # session.info flag: number each row as it comes

# Sealers run, and take their locks, in this order: no deadlocks between the head locks.
ORDER = ("audit", "feed")
_sealers = {}


def install(target, sealers=None):
    """Seal deferred rows when sessions of `target` commit; `sealers` maps ORDER's names.

    target: a Session class, sessionmaker or scoped_session (create_app passes db.session).
    Each sealer is seal(session, rows), run before the commit for the rows deferred under
    its name; without sealers, those installed before are used. Installing again (another
    app in the same process) changes nothing.
    """
    if sealers is not None:
        if set(sealers) != set(ORDER):
            raise ValueError(f"sealers must be given for exactly {ORDER}")
        _sealers.update(sealers)
    elif set(_sealers) != set(ORDER):
        raise RuntimeError("install with sealers first (create_app does)")
    for name, listener in (("before_commit", _seal_before_commit),
                           ("after_soft_rollback", _drop_rolled_back),
                           ("after_transaction_end", _forget_at_end)):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)


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


def _seal_before_commit(session):
    if not session.in_nested_transaction() and session.info.get(PENDING):
        session.flush()  # write everything else first: the head locks are held only for this
        seal(session)


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


def _forget_at_end(session, transaction):
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def _inside(transaction, ancestor):
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
