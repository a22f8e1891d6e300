"""One page of a list: every list endpoint and page reads its rows through here."""


def page(session, query, *, limit, offset=0):
    """Return the rows of `query` (ordered) from `offset`, at most `limit` of them."""
    return session.scalars(query.limit(limit).offset(offset)).all()
