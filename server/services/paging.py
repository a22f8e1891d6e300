"""One page of a list: every list endpoint and page reads its rows through here.

Pages are read by key: a cursor names the last row's ORDER BY values, and the next page is
`WHERE (key) > (last key)`, so page 1,000 costs what page 1 costs. Cursors are opaque and
signed; `offset` is still accepted (after the cursor, if both come) for old clients.
"""

import hashlib
import json
from datetime import date, datetime

from flask import current_app, g, has_request_context
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, or_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnClause, UnaryExpression

from server.errors import AppError

NEXT_CURSOR_HEADER = "X-Next-Cursor"
_SALT = "page-cursor"


class BadPageCursor(AppError):
    status = 400
    code = "bad_cursor"


class Page(list):
    """The rows of a page; next_cursor reads the page after it (None on the last page)."""

    def __init__(self, rows, keys=None, last=None):
        super().__init__(rows)
        self._keys, self._last = keys, last

    @property
    def next_cursor(self):
        if self._keys is None or self._last is None:
            return None
        return _serializer().dumps({"k": _fingerprint(self._keys), "v": _encode(self._last)})


def _serializer():
    return URLSafeSerializer(current_app.secret_key or "", salt=_SALT)


def sort_keys(query):
    """Return [(expression, descending)] of the query's ORDER BY, or None if it cannot key."""
    keys = []
    for clause in query._order_by_clauses:
        descending = False
        if isinstance(clause, UnaryExpression):
            if clause.modifier not in (operators.desc_op, operators.asc_op):
                return None  # NULLS FIRST/LAST and the like: not keyed
            descending = clause.modifier is operators.desc_op
            clause = clause.element
        if not isinstance(clause, ColumnClause):
            return None  # expressions and label names: not keyed
        keys.append((clause, descending))
    return keys or None


def _fingerprint(keys):
    text = "|".join(f"{expression}:{int(descending)}" for expression, descending in keys)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode(values):
    encoded = []
    for value in values:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int):
            encoded.append(["i", value])
        elif isinstance(value, str):
            encoded.append(["s", value])
        elif isinstance(value, datetime):
            encoded.append(["t", value.isoformat()])
        elif isinstance(value, date):
            encoded.append(["d", value.isoformat()])
        else:
            return None
    return encoded


def _decode(encoded):
    parsers = {"i": lambda v: v if isinstance(v, int) and not isinstance(v, bool) else None,
               "s": lambda v: v if isinstance(v, str) else None,
               "t": datetime.fromisoformat, "d": date.fromisoformat}
    values = []
    for tag, raw in encoded:
        value = parsers[tag](raw)
        if value is None:
            raise ValueError(tag)
        values.append(value)
    return values


def decode_cursor(cursor, keys):
    """Return the last key values a cursor names for this ordering, or raise BadPageCursor."""
    try:
        data = _serializer().loads(cursor)
        if keys is None or data["k"] != _fingerprint(keys) or len(data["v"]) != len(keys):
            raise ValueError("another list")
        return _decode(data["v"])
    except (BadSignature, ValueError, KeyError, TypeError, AttributeError):
        raise BadPageCursor("The cursor is not one this list issued; start again without it.",
                            details={"cursor": None}) from None


def _after(keys, values):
    """SQL condition: the row comes after the one with these key values, in key order."""
    terms = []
    for index, ((expression, descending), value) in enumerate(zip(keys, values)):
        equal = [keys[i][0] == values[i] for i in range(index)]
        terms.append(and_(*equal, expression < value if descending else expression > value))
    return or_(*terms)


def page(session, query, *, limit, offset=0, cursor=None, whole_rows=False):
    """Return a Page of the rows of `query` (ordered) after the cursor, from `offset`, at most
    `limit` of them; in a request, the next page's cursor goes in the X-Next-Cursor header.

    whole_rows: the page holds result rows (whose columns include the keys), not entities.
    """
    keys = sort_keys(query)
    if cursor:
        query = query.where(_after(keys, decode_cursor(cursor, keys)))
    if keys is None:
        result = session.execute if whole_rows else session.scalars
        return Page(result(query.limit(limit).offset(offset)).all())
    if whole_rows:
        rows = session.execute(query.limit(limit + 1).offset(offset)).all()
        values = lambda row: [row._mapping[expression.key] for expression, _ in keys]  # noqa: E731
        picked = rows
    else:
        rows = session.execute(query.add_columns(*(expression for expression, _ in keys))
                               .limit(limit + 1).offset(offset)).all()
        values = lambda row: list(row[-len(keys):])  # noqa: E731
        picked = [row[0] for row in rows]
    more = len(rows) > limit
    result = Page(picked[:limit], keys, values(rows[limit - 1]) if more else None)
    if has_request_context():
        g.next_page_cursor = result.next_cursor
    return result
