"""REST API blueprints under /api/v1."""


def register_api(api, app):
    """Register every API blueprint on the flask-smorest Api."""
    from server.api import (
        assignments,
        cases,
        cells,
        complaints,
        checklists,
        devices,
        followups,
        inspections,
        jobs,
        maps,
        penalties,
        photos,
        premises,
        sync,
        tasks,
        tokens,
        users,
    )
    from server.api.docs import register_docs_assets

    for module in (tokens, users, maps, cells, assignments, premises, checklists, tasks,
                   inspections, photos, devices, sync, followups, jobs):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")
    api.register_blueprint(complaints.blp)  # under /api/v1/followups/complaints
    api.register_blueprint(cases.blp)  # under /api/v1/followups/cases
    api.register_blueprint(penalties.blp)  # under /api/v1/followups (penalties, points, measures)
    register_docs_assets(app)

    @app.after_request
    def next_page_header(response):
        """Lists send the cursor of their next page in X-Next-Cursor (server/services/paging)."""
        from flask import g

        from server.services.paging import NEXT_CURSOR_HEADER

        if g.get("next_page_cursor"):
            response.headers[NEXT_CURSOR_HEADER] = g.next_page_cursor
        return response
