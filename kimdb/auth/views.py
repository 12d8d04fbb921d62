"""Login (password, then the code of an authenticator app where required), the user's own
account page with the two-factor settings, logout, session expiry and the choice of UI
language.

Two-factor login (issue 6 item 7): after a correct password a user who needs a second step
(``kimdb.auth.totp.second_step``) is not logged in yet. The signed session cookie holds a
marker "password correct" (user id, their session token, time) for five minutes; only
``/login/code`` and ``/login/enrol`` accept it. A secret being set up is kept in the session,
encrypted with the field key (``kimdb.crypto``), until its first code confirms it; only then
it is stored in the database.
"""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from kimdb import crypto
from kimdb.auth import service, totp
from kimdb.auth.forms import CodeForm, DisableSecondFactorForm, LanguageForm, LoginForm
from kimdb.auth.models import User
from kimdb.extensions import limiter, login_manager
from kimdb.i18n import lazy_gettext as _l
from kimdb.rules import RuleViolation
from kimdb.views import attach_error, safe_local_path

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Bitte melden Sie sich an.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"
login_manager.user_loader(service.load_user)


@login_manager.unauthorized_handler
def _to_login():
    """Send an anonymous request to the login page, back to the same path afterwards. Only the
    path travels in ``next``: a query string can hold a searched name or date of birth, which
    must not land in access logs or the browser history (DESIGN.md §4)."""
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for("auth.login", next=request.path))


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the start page."""
    return safe_local_path(target) or url_for("caseload.start")


def _login_account_key() -> str:
    """Rate-limit key of the account a login names (so one address cannot try many passwords
    on one account, and many addresses cannot either)."""
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:80]


# Session keys of the login steps.
PENDING = "pending_login"  # {"user": id, "token": session token, "at": Unix s, "next": path}
ENROLMENT = "totp_enrolment"  # {"user": id, "secret": the new secret, encrypted, base64}
SEEN_EVERY = 60  # seconds: the last-seen time is refreshed at most this often (cookie churn)


def _pending_account_key() -> str:
    """Rate-limit key of the account whose password was correct (code and enrolment step)."""
    marker = session.get(PENDING)
    user_id = marker.get("user") if isinstance(marker, dict) else None
    return f"login-code:{user_id}"


def _login_limits(account_key):
    """Decorator: the login rate limits on POST, KIMDB_RATELIMIT_LOGIN per address and
    KIMDB_RATELIMIT_LOGIN_ACCOUNT per account (``account_key``: for the password step the
    user name typed, for the code steps the account whose password was correct)."""

    def decorate(view):
        view = limiter.limit(
            lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"],
            methods=["POST"],
            key_func=account_key,
        )(view)
        return limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])(view)

    return decorate


@bp.before_app_request
def end_expired_sessions():
    """End a login after KIMDB_SESSION_MINUTES, however active it was (absolute lifetime),
    and after KIMDB_SESSION_IDLE_MINUTES without a request (issue 6 item 7). The time of the
    last request is kept in the session, refreshed at most once a minute."""
    if not current_user.is_authenticated:
        return None
    moment = time.time()
    started = session.get("login_at")
    if started is None or moment - started > current_app.config["PERMANENT_SESSION_LIFETIME"]:
        return _end_session(_l("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."))
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    seen = session.get("seen_at")
    if totp.idle_expired(seen, moment, idle_minutes):
        return _end_session(
            _l("Sie wurden nach %(n)s Minuten ohne Aktivität abgemeldet.", n=idle_minutes)
        )
    if moment - seen >= SEEN_EVERY:
        session["seen_at"] = moment
    return None


def _end_session(message):
    """Log out, forget the session, show ``message`` on the login page."""
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))


def _start_session(user: User, next_path: str | None):
    """Log ``user`` in (a fresh session) and go to ``next_path`` or the start page."""
    session.clear()
    login_user(user)
    session.permanent = True
    session["login_at"] = session["seen_at"] = time.time()
    return redirect(_safe_next(next_path))


@bp.route("/login", methods=["GET", "POST"])
@_login_limits(_login_account_key)
def login():
    """Show the login form; on valid credentials (no hint whether the user exists) log in, or
    send a user who needs a second step to the code or enrolment page."""
    if current_user.is_authenticated:
        return redirect(url_for("caseload.start"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = service.authenticate(form.username.data, form.password.data)
        if user is not None:
            step = _second_step(user)
            if step is totp.SecondStep.NONE:
                service.record_login(user)
                return _start_session(user, form.next.data)
            session.clear()
            session[PENDING] = {
                "user": user.id,
                "token": user.session_token,
                "at": time.time(),
                "next": safe_local_path(form.next.data) or "",
            }
            return redirect(url_for(_STEP_ENDPOINTS[step]))
        form.password.errors.append(_l("Benutzername oder Passwort ist falsch."))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


_STEP_ENDPOINTS = {
    totp.SecondStep.CODE: "auth.login_code",
    totp.SecondStep.ENROL: "auth.login_enrol",
}


def _second_step(user: User) -> totp.SecondStep:
    return totp.second_step(
        user.role, user.totp_enabled_at is not None, current_app.config["TOTP_REQUIRED_ROLES"]
    )


def _pending_user() -> User | None:
    """The user whose password was correct less than five minutes ago in this session."""
    marker = session.get(PENDING)
    if not isinstance(marker, dict) or totp.pending_expired(marker.get("at"), time.time()):
        return None
    return service.pending_user(marker.get("user"), marker.get("token"))


def _pending_lost():
    """No (valid) password step in this session: back to the login, saying why if one
    expired."""
    if session.pop(PENDING, None) is not None:
        session.pop(ENROLMENT, None)
        flash(_l("Die Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an."), "info")
    return redirect(url_for("auth.login"))


def _wrong_step(user: User, here: totp.SecondStep):
    """Redirect to the step ``user`` needs now if it is not ``here`` (an administrator reset
    the app meanwhile); None if ``here`` is right."""
    step = _second_step(user)
    if step is here:
        return None
    if step is totp.SecondStep.NONE:
        return _pending_lost()
    return redirect(url_for(_STEP_ENDPOINTS[step]))


@bp.route("/login/code", methods=["GET", "POST"])
@_login_limits(_pending_account_key)
def login_code():
    """Login step 2: the code of the authenticator app (issue 6 item 7). A wrong or used
    code is refused with 422; the login rate limits apply."""
    if current_user.is_authenticated:
        return redirect(url_for("caseload.start"))
    user = _pending_user()
    if user is None:
        return _pending_lost()
    if (elsewhere := _wrong_step(user, totp.SecondStep.CODE)) is not None:
        return elsewhere
    form = CodeForm()
    if form.validate_on_submit():
        try:
            service.confirm_login_code(user, form.code.data)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            return _start_session(user, session[PENDING].get("next"))
    status = 422 if form.errors else 200
    return render_template("auth/login_code.html", form=form), status


def _stored_enrolment_secret(user: User) -> str | None:
    """The secret ``user`` is setting up, kept encrypted in this session, or None if there is
    none or it cannot be read (a secret of an old key or a damaged cookie)."""
    stored = session.get(ENROLMENT)
    if not (isinstance(stored, dict) and stored.get("user") == user.id):
        return None
    try:
        blob = base64.b64decode(stored.get("secret", ""), validate=True)
        return crypto.keyring().decrypt(blob).decode("ascii")
    except (binascii.Error, crypto.CryptoError, UnicodeDecodeError):
        return None


def _enrolment_secret(user: User) -> str:
    """The secret being set up by ``user`` in this session; a new one if there is none."""
    stored = _stored_enrolment_secret(user)
    if stored is not None:
        return stored
    secret = totp.new_secret()
    blob = crypto.keyring().encrypt(secret.encode("ascii"))
    session[ENROLMENT] = {"user": user.id, "secret": base64.b64encode(blob).decode("ascii")}
    return secret


def _enrolment_page(template: str, user: User, form: CodeForm, status: int):
    secret = _enrolment_secret(user)
    uri = totp.provisioning_uri(secret, user.username)
    return render_template(
        template,
        form=form,
        qr_code=totp.qr_svg_data_uri(uri),
        secret=totp.grouped(secret),
        issuer=totp.ISSUER,
        username=user.username,
    ), status


@bp.route("/login/enrol", methods=["GET", "POST"])
@_login_limits(_pending_account_key)
def login_enrol():
    """Login step 2 for a user whose role requires two-factor login and who has no
    authenticator app yet: scan the QR code, confirm with the first code, logged in."""
    if current_user.is_authenticated:
        return redirect(url_for("caseload.start"))
    user = _pending_user()
    if user is None:
        return _pending_lost()
    if (elsewhere := _wrong_step(user, totp.SecondStep.ENROL)) is not None:
        return elsewhere
    form = CodeForm()
    if form.validate_on_submit():
        try:
            service.confirm_enrolment(user, _enrolment_secret(user), form.code.data, log_in=True)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            return _start_session(user, session[PENDING].get("next"))
    return _enrolment_page("auth/login_enrol.html", user, form, 422 if form.errors else 200)


def _me() -> User:
    return current_user._get_current_object()


def _account_page(disable_form: DisableSecondFactorForm | None = None, status: int = 200):
    user = _me()
    return render_template(
        "auth/account.html",
        user=user,
        required=not totp.may_disable(user.role, current_app.config["TOTP_REQUIRED_ROLES"]),
        disable_form=disable_form or DisableSecondFactorForm(formdata=None),
    ), status


@bp.get("/account")
@login_required
def account():
    """The user's own account: role, organisation, state of the two-factor login."""
    return _account_page()


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def account_enrol():
    """Set up an authenticator app for the own account (voluntary for case managers unless
    required): scan the QR code, confirm with the first code."""
    user = _me()
    if user.totp_enabled_at is not None:
        flash(_l("Die Zwei-Faktor-Anmeldung ist bereits eingerichtet."), "info")
        return redirect(url_for("auth.account"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            service.confirm_enrolment(user, _enrolment_secret(user), form.code.data, log_in=False)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            session.pop(ENROLMENT, None)
            flash(_l("Die Zwei-Faktor-Anmeldung ist eingerichtet."), "success")
            return redirect(url_for("auth.account"))
    return _enrolment_page("auth/account_enrol.html", user, form, 422 if form.errors else 200)


@bp.post("/account/two-factor/disable")
@login_required
def account_disable():
    """Switch the voluntary two-factor login off, with password and a current code; refused
    (403) for a role that requires it."""
    user = _me()
    required_roles = current_app.config["TOTP_REQUIRED_ROLES"]
    if not totp.may_disable(user.role, required_roles):
        abort(403)
    if user.totp_enabled_at is None:
        return redirect(url_for("auth.account"))
    form = DisableSecondFactorForm()
    if form.validate_on_submit():
        try:
            service.disable_second_factor(user, form.password.data, form.code.data, required_roles)
        except RuleViolation as error:
            attach_error(form, error)
        else:
            flash(_l("Die Zwei-Faktor-Anmeldung ist ausgeschaltet."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(form, 422)


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
