"""The schema the migrations build is the one the models describe (tables, columns, indexes,
foreign keys), on both databases: a model changed without its migration fails here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.extensions import db

# Tables the spatial extensions own (SpatiaLite's metadata, PostGIS's topology and tiger).
SYSTEM_PREFIXES = ("spatial_", "spatialindex", "geometry_columns", "geom_cols", "views_geometry",
                   "virts_geometry", "sql_statements_log", "spatialite_history", "vector_layers",
                   "sqlite_", "idx_", "elementarygeometries", "knn", "data_licenses",
                   "ISO_metadata", "SE_", "rl2map", "wms_", "topology", "layer", "raster_",
                   "networks", "spatial_ref_sys", "alembic_version")


def _ours(name, type_, reflected, compare_to):
    if type_ == "table" and reflected and compare_to is None:
        return not name.lower().startswith(tuple(p.lower() for p in SYSTEM_PREFIXES))
    if type_ == "index" and name and name.lower().startswith("idx_"):  # spatial index tables
        return False
    return True


def _significant(diff):
    """Drop what autogenerate reports on every run for reasons of its own: type spellings
    that are the same on the database (e.g. JSON as TEXT on SQLite), server defaults."""
    kind = diff[0] if isinstance(diff, tuple) else diff[0][0]
    return kind not in ("modify_type", "modify_default", "modify_comment")


def test_the_migrated_schema_matches_the_models(app, db_session):
    context = MigrationContext.configure(db_session.connection(), opts={
        "include_object": lambda obj, name, type_, reflected, compare_to:
            _ours(name, type_, reflected, compare_to),
        "compare_type": False})
    diffs = [diff for diff in compare_metadata(context, db.metadata) if _significant(diff)]
    assert diffs == []
