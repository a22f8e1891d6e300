"""Pages: sign-in, the grid map of your scope, and the health check."""

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import text

from server.authentication import check_credentials
from server.db import transaction
from server.errors import AppError, NotFound
from server.extensions import db
from server.models.user import ROLE_LABELS
from server.security import csrf
from server.services.cells import active_map_cells, scope_levels, scope_outlines
from server.services.credentials import BAD_CREDENTIALS
from server.services.followups.documents import Office, verify
from server.web.geojson import cells_feature_collection, outline_args, outline_response
from server.web.sessions import (
    page_user,
    require_page_user,
    sign_in_page,
    sign_out_page,
)

# Not /static: that URL belongs to the app's own (unused) static folder and would shadow ours.
web_bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/assets")

BAD_SIGN_IN = "用户名或密码错误，或尝试次数过多。"
PAGE_EXPIRED = ("页面已过期或来自其他网站，请重新操作。",
                "The page expired or came from another site; try again.")


@web_bp.before_request
def check_csrf_token():
    """Refuse a page form posted without this browser's CSRF token (the API is exempt)."""
    if request.method in current_app.config["WTF_CSRF_METHODS"]:
        csrf.protect()


@web_bp.errorhandler(CSRFError)
def page_expired(error):
    """Show the sign-in form again, with a fresh token, instead of acting on the post."""
    return render_template("login.html", error=PAGE_EXPIRED), 400


@web_bp.get("/healthz")
def healthz():
    """Answer whether the app and its database respond."""
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok", "database": "ok"})


@web_bp.get("/")
def index():
    """Send people to the map when signed in, else to the sign-in page."""
    return redirect(url_for("web.grid_map" if page_user() else "web.login"))


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
            error = (BAD_SIGN_IN, failure.message)
            user = None
        if user is not None:
            sign_in_page(user)
            return redirect(url_for("web.grid_map"))
        error = error or (BAD_SIGN_IN, BAD_CREDENTIALS)
    return render_template("login.html", error=error), 401 if error else 200


@web_bp.post("/logout")
def logout():
    """Sign out of the pages: the session ends on the server, not only in the cookie."""
    sign_out_page()
    return redirect(url_for("web.login"))


@web_bp.get("/map")
def grid_map():
    """Show the cells of your scope on the active maps."""
    user = page_user()
    if user is None:
        return redirect(url_for("web.login"))
    return render_template("map.html", user=user, role_label=ROLE_LABELS[user.role])


@web_bp.get("/map/cells.geojson")
def grid_map_cells():
    """Return the active cells of the signed-in user's scope as GeoJSON.

    With ?level= one level, simplified for ?zoom= (default: the level's), gzipped when the
    browser accepts it, with an ETag (304 when unchanged); without, every level in full.
    """
    user = require_page_user()
    if "level" not in request.args:
        return jsonify(cells_feature_collection(active_map_cells(db.session, user)))
    level, zoom = outline_args(request.args)
    tag, features = scope_outlines(db.session, user, level=level, zoom=zoom)
    return outline_response(tag, features)


@web_bp.get("/map/levels.json")
def grid_map_levels():
    """Return the levels of the signed-in user's active cells (top first) and their bounds."""
    user = require_page_user()
    levels = scope_levels(db.session, user)
    bbox = None
    if levels:
        _, features = scope_outlines(db.session, user, level=levels[0]["code"],
                                     zoom=levels[0]["zoom"])
        bounds = [b for _, _, b in features()]
        bbox = [min(b[0] for b in bounds), min(b[1] for b in bounds),
                max(b[2] for b in bounds), max(b[3] for b in bounds)]
    return jsonify({"levels": levels, "bbox": bbox})


@web_bp.get("/verify/<string(maxlength=64):token>")
def verify_document(token):
    """Show that a document is genuine (public: the token is the secret); nothing personal."""
    try:
        facts = verify(db.session, token, office=Office.from_config(current_app.config))
    except NotFound:
        return render_template("verify.html", facts=None), 404
    return render_template("verify.html", facts=facts)
