"""Pages: sign-in, the grid map of your scope, and the health check."""

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import text

from server.authentication import check_credentials, session_user
from server.db import transaction
from server.errors import AppError, Unauthorized
from server.extensions import db
from server.models.user import ROLE_LABELS
from server.services.credentials import BAD_CREDENTIALS
from server.services.cells import active_map_cells
from server.web.geojson import cells_feature_collection

# Not /static: that URL belongs to the app's own (unused) static folder and would shadow ours.
web_bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/assets")


@web_bp.get("/healthz")
def healthz():
    """Answer whether the app and its database respond."""
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok", "database": "ok"})


@web_bp.get("/")
def index():
    """Send people to the map when signed in, else to the sign-in page."""
    return redirect(url_for("web.grid_map" if session.get("user_id") else "web.login"))


@web_bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in on the pages (same throttling as the API)."""
    error = None
    if request.method == "POST":
        try:
            with transaction():
                user = check_credentials(request.form.get("username", ""),
                                         request.form.get("password", ""))
        except AppError as failure:
            error = failure.message
            user = None
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            return redirect(url_for("web.grid_map"))
        error = error or BAD_CREDENTIALS
    return render_template("login.html", error=error), 401 if error else 200


@web_bp.post("/logout")
def logout():
    """Sign out of the pages."""
    session.clear()
    return redirect(url_for("web.login"))


@web_bp.get("/map")
def grid_map():
    """Show the cells of your scope on the active maps."""
    try:
        user = session_user()
    except Unauthorized:
        return redirect(url_for("web.login"))
    return render_template("map.html", user=user, role_label=ROLE_LABELS[user.role])


@web_bp.get("/map/cells.geojson")
def grid_map_cells():
    """Return the active cells of the signed-in user's scope as GeoJSON."""
    return jsonify(cells_feature_collection(active_map_cells(db.session, session_user())))
