"""The terminal sync protocol, and the reference terminal that speaks it.

What lives here (no Flask, no database; the server and the terminal both import it):
- `PROTOCOL.md`: the protocol, step by step (register, pull, push, photos).
- `protocol.py`: pull cursors, push record digests and outcomes — pure functions.
- `client.py`, `outbox.py`, `cli.py`: the reference terminal — an outbox on disk that survives
  being killed mid-sync, and its command line `grid-terminal`.

The server-side sync engine lives in `server/`, where the database is:
`server/services/pull.py` (delta and snapshot pulls), `server/services/push.py` (idempotent
push, one savepoint per record), `server/services/photos.py` (content-addressed, resumable
photo upload), wired to HTTP by `server/api/sync.py` and `server/api/photos.py`.
"""
