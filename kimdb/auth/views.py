"""Login, logout and the choice of UI language."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from kimdb.auth import service
from kimdb.auth.forms import LanguageForm, LoginForm
from kimdb.extensions import limiter, login_manager
from kimdb.views import safe_local_path

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Bitte melden Sie sich an.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"
login_manager.user_loader(service.load_user)


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the start page."""
    return safe_local_path(target) or url_for("caseload.start")


def _login_account_key() -> str:
    """Rate-limit key of the account a login names (so one address cannot try many passwords
    on one account, and many addresses cannot either)."""
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:80]


@bp.before_app_request
def end_expired_sessions():
    """End a login after KIMDB_SESSION_MINUTES, however active it was (absolute lifetime)."""
    started = session.get("login_at")
    if current_user.is_authenticated and (
        started is None or time.time() - started > current_app.config["PERMANENT_SESSION_LIFETIME"]
    ):
        logout_user()
        session.clear()
        flash(_l("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."), "info")
        return redirect(url_for("auth.login"))
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"],
    methods=["POST"],
    key_func=_login_account_key,
)
def login():
    """Show the login form; log in on valid credentials (no hint whether the user exists)."""
    if current_user.is_authenticated:
        return redirect(url_for("caseload.start"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = service.authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()
            login_user(user)
            session.permanent = True
            session["login_at"] = time.time()
            return redirect(_safe_next(form.next.data))
        form.password.errors.append(_l("Benutzername oder Passwort ist falsch."))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """End the session, and every other session of the user (a copied cookie included)."""
    service.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_l("Sie sind abgemeldet."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    """Remember the chosen UI language in the session."""
    form = LanguageForm()
    if form.validate_on_submit() and form.locale.data in current_app.config["LANGUAGES"]:
        session["locale"] = form.locale.data
    return redirect(_safe_next(request.referrer and urlsplit(request.referrer).path))
