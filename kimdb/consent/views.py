"""The consent form texts: a list and a printable page per version and language (FAQ Q34)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import login_required

from kimdb.consent.catalog import find_form, load_forms

bp = Blueprint("consent", __name__, url_prefix="/consent-forms")


@bp.get("/")
@login_required
def index():
    """List every consent form version and language."""
    return render_template(
        "consent/index.html", forms=load_forms(current_app.config["CONSENT_FORMS_DIR"])
    )


@bp.get("/<version>/<language>")
@login_required
def show(version: str, language: str):
    """Show one consent form as a printable page for the client to sign."""
    form = find_form(current_app.config["CONSENT_FORMS_DIR"], version, language) or abort(404)
    return render_template("consent/print.html", form=form)
