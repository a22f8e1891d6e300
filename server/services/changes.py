"""Append to the change feed that delta pulls read."""

from server.models import ChangeEvent


def emit(session, entity_type, entity_id, op="upsert", *, cell_id=None, old_cell_id=None,
         user_id=None):
    """Record a change; cell ids say whose scope it touches (old_cell_id: where it was)."""
    session.add(ChangeEvent(entity_type=entity_type, entity_id=str(entity_id), op=op,
                            cell_id=cell_id,
                            old_cell_id=old_cell_id if old_cell_id != cell_id else None,
                            user_id=user_id))
