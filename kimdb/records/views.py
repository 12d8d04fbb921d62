"""Records of processing (Verarbeitungsverzeichnis): the page and its JSON download, for the
administration and the data protection officer (issue 6 item 8, GDPR Art. 30)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from kimdb.auth.models import Role
from kimdb.extensions import db
from kimdb.records import service
from kimdb.records.catalogue import CATEGORY_LABELS, Category
from kimdb.views import role_required

bp = Blueprint("records", __name__)
admin_or_dpo = role_required(Role.ADMIN, Role.DPO)


@bp.get("/records")
@admin_or_dpo
def index():
    """Show what kimdb stores, why, for how long and who can see it, table by table."""
    days = current_app.config["RETENTION_DAYS"]
    return render_template(
        "records/index.html",
        tables=service.describe(db.metadata, days),
        files=service.describe_files(days),
        categories=[(c, CATEGORY_LABELS[c]) for c in Category],
        retention_days=days,
    )


@bp.get("/records.json")
@admin_or_dpo
def download():
    """Send the same records as a JSON file (``kimdb-verarbeitungsverzeichnis.json``)."""
    days = current_app.config["RETENTION_DAYS"]
    response = jsonify(
        service.as_json(service.describe(db.metadata, days), service.describe_files(days))
    )
    response.headers["Content-Disposition"] = (
        "attachment; filename=kimdb-verarbeitungsverzeichnis.json"
    )
    return response
