"""Checklist templates (一单): the check items and their legal basis."""

from flask_smorest import Blueprint

from server.authentication import current_user
from server.extensions import db
from server.schemas.checklists import ChecklistQuery, ChecklistSchema
from server.services.checklists import current_templates, get_template_version

blp = Blueprint("checklists", __name__, description="Checklist templates (检查单)")


@blp.get("/")
@blp.arguments(ChecklistQuery, location="query")
@blp.response(200, ChecklistSchema(many=True))
def list_templates(args):
    """List the current version of each template, optionally for one premises category."""
    current_user()
    return current_templates(db.session, args.get("category_code"))


@blp.get("/<int(max=2147483647):template_id>")
@blp.response(200, ChecklistSchema)
def get_template(template_id):
    """Return one template version (old versions stay readable)."""
    current_user()
    return get_template_version(db.session, template_id)
