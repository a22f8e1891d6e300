"""Checklist templates: load the shipped files, pick the items that apply to a premises."""

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from server.errors import Conflict, NotFound, ValidationFailed
from server.models import ChecklistItem, ChecklistTemplate, PremisesCategory
from server.models.checklists import SEVERITIES
from server.services import audit
from server.services import changes as feed

SHIPPED = Path(__file__).resolve().parent.parent / "checklists"


def load_templates(session, directory=SHIPPED, actor=None):
    """Store every template file of a directory once; return [(code, version, outcome)]."""
    outcomes = []
    for path in sorted(Path(directory).glob("*.json")):
        outcomes.append(load_template(session, json.loads(path.read_text(encoding="utf-8")),
                                      actor=actor, source=path.name))
    return outcomes


def load_template(session, document, *, actor=None, source=""):
    """Store one template version; the same content again is a no-op, other content a conflict."""
    _check_document(session, document, source)
    content_hash = hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    existing = session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.code == document["code"],
        ChecklistTemplate.version == document["version"]))
    if existing is not None:
        if existing.content_hash != content_hash:
            raise Conflict(f"Template {document['code']} version {document['version']} exists "
                           "with other content; raise the version.", code="template_version_taken")
        return document["code"], document["version"], "unchanged"
    template = ChecklistTemplate(code=document["code"], version=document["version"],
                                 title=document["title"], title_en=document.get("title_en", ""),
                                 categories=document["categories"], content_hash=content_hash)
    session.add(template)
    session.flush()
    for order, item in enumerate(document["items"]):
        session.add(ChecklistItem(template_id=template.id, code=item["code"], text=item["text"],
                                  legal_basis=item.get("legal_basis", ""),
                                  severity=item["severity"],
                                  categories=item.get("categories", []), sort_order=order))
    session.flush()
    feed.emit(session, "checklist", template.id)
    audit.record(session, actor, "checklist.load", "checklist_template", template.id,
                 details={"code": template.code, "version": template.version, "source": source})
    return template.code, template.version, "created"


def _check_document(session, document, source):
    problems = []
    for key in ("code", "version", "title", "categories", "items"):
        if key not in document:
            problems.append(f"missing {key}")
    if problems:
        raise ValidationFailed(f"{source}: {', '.join(problems)}", code="template_invalid")
    known = set(session.scalars(select(PremisesCategory.code)))
    codes = [item.get("code") for item in document["items"]]
    if len(set(codes)) != len(codes) or None in codes:
        problems.append("item codes must be present and unique")
    for category in document["categories"]:
        if category not in known:
            problems.append(f"unknown category {category}")
    for item in document["items"]:
        if item.get("severity") not in SEVERITIES:
            problems.append(f"item {item.get('code')}: severity must be one of {list(SEVERITIES)}")
        if not set(item.get("categories", [])) <= set(document["categories"]):
            problems.append(f"item {item.get('code')}: categories outside the template's")
    if problems:
        raise ValidationFailed(f"{source}: {'; '.join(problems)}", code="template_invalid",
                               details={"problems": problems})


def applicable_items(template, category_code):
    """Return the items of a template that apply to a premises category."""
    return [item for item in template.items
            if not item.categories or category_code in item.categories]


def get_template_version(session, template_id):
    """Return one template version (old versions stay readable), or raise NotFound."""
    template = session.get(ChecklistTemplate, template_id)
    if template is None:
        raise NotFound(f"Checklist template {template_id} not found.")
    return template


def current_templates(session, category_code=None):
    """Return the newest active version of each template, optionally for one category."""
    templates = session.scalars(select(ChecklistTemplate).where(
        ChecklistTemplate.status == "active").order_by(ChecklistTemplate.code,
                                                       ChecklistTemplate.version.desc())).all()
    newest = {}
    for template in templates:
        newest.setdefault(template.code, template)
    return [t for t in newest.values()
            if category_code is None or category_code in t.categories]
