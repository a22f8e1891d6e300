"""Serve the Swagger UI assets locally: office networks have no CDN."""

from pathlib import Path

from flask import Blueprint, send_from_directory


def register_docs_assets(app):
    """Serve swagger-ui-bundle's files under /api/docs/assets/."""
    import swagger_ui_bundle

    folder = Path(swagger_ui_bundle.swagger_ui_path)
    assets = Blueprint("docs_assets", __name__)

    @assets.get("/api/docs/assets/<path:filename>")
    def asset(filename):
        return send_from_directory(folder, filename, max_age=86400)

    app.register_blueprint(assets)
