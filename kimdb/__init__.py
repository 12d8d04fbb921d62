"""kimdb: case-management database of the municipal integration case management (KIM) NRW."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, abort, has_request_context, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import BASE_DIR, CONFIGS
from kimdb import crypto
from kimdb.extensions import (
    babel,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
    ping_idle_connections,
)


class ConfigurationError(RuntimeError):
    """A required ``KIMDB_*`` setting is missing or malformed; the app does not start."""


def select_locale() -> str:
    """Return the UI language: the one chosen in the session, else German (the default)."""
    from flask import current_app

    if not has_request_context():
        return "de"
    chosen = session.get("locale")
    return chosen if chosen in current_app.config["LANGUAGES"] else "de"


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the kimdb application.

    ``config_name`` picks a class from ``config.CONFIGS`` (default: ``KIMDB_CONFIG`` or
    ``production``); ``overrides`` replace single settings (tests). Raises ConfigurationError
    when a required secret (``KIMDB_SECRET_KEY``, ``KIMDB_ENCRYPTION_KEY``,
    ``KIMDB_BLIND_INDEX_KEY``) is missing.
    """
    name = config_name or os.environ.get("KIMDB_CONFIG", "production")
    if name not in CONFIGS:
        raise ConfigurationError(f"KIMDB_CONFIG must be one of {', '.join(CONFIGS)}")
    settings = CONFIGS[name]()
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(settings)
    app.config.update(overrides)
    missing = [k for k in settings.REQUIRED if not app.config.get(k)]
    if missing:
        raise ConfigurationError(
            "missing settings: "
            + ", ".join(f"KIMDB_{k}" for k in missing)
            + " (see README.md, Configuration)"
        )
    try:
        crypto.configure(
            crypto.keyring_from_settings(
                app.config.get("ENCRYPTION_KEYS"),
                app.config.get("ENCRYPTION_KEYS_FILE"),
                app.config.get("ENCRYPTION_KEY"),
            )
        )
        crypto.configure_blind_index(app.config["BLIND_INDEX_KEY"])
    except crypto.CryptoError as exc:
        raise ConfigurationError(str(exc)) from exc
    _prepare_sqlite_dir(app.config["SQLALCHEMY_DATABASE_URI"])
    app.url_map.converters["id"] = IdConverter
    if app.config["PROXY_COUNT"]:
        # Behind a reverse proxy: take the client address from X-Forwarded-For (rate limits).
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"]
        )

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)

    _register_models()
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_security_headers(app)
    _register_error_handlers(app)
    from kimdb.cli import kimdb_cli

    app.cli.add_command(kimdb_cli)
    return app


def _prepare_sqlite_dir(uri: str) -> None:
    """Create the directory of an SQLite database file if it does not exist yet."""
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys only when asked, per connection (R1 relies on it)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _register_models() -> None:
    """Import every model module so that SQLAlchemy and Alembic know all tables."""
    import kimdb.audit.models
    import kimdb.auth.models
    import kimdb.cases.models
    import kimdb.clients.models
    import kimdb.consent.models
    import kimdb.emergency.models
    import kimdb.findings.models
    import kimdb.households.models
    import kimdb.orgs.models
    import kimdb.reports.models
    import kimdb.substitution.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from kimdb.audit.views import bp as audit_bp
    from kimdb.auth.admin_views import bp as admin_bp
    from kimdb.auth.views import bp as auth_bp
    from kimdb.caseload.views import bp as caseload_bp
    from kimdb.cases.views import bp as cases_bp
    from kimdb.clients.views import bp as clients_bp
    from kimdb.consent.views import bp as consent_bp
    from kimdb.emergency.views import bp as emergency_bp
    from kimdb.findings.views import bp as findings_bp
    from kimdb.households.views import bp as households_bp
    from kimdb.orgs.views import bp as orgs_bp
    from kimdb.privacy.views import bp as privacy_bp
    from kimdb.records.views import bp as records_bp
    from kimdb.reports.views import bp as reports_bp
    from kimdb.substitution.views import bp as substitution_bp

    for blueprint in (
        auth_bp,
        caseload_bp,
        clients_bp,
        cases_bp,
        consent_bp,
        orgs_bp,
        substitution_bp,
        findings_bp,
        households_bp,
        admin_bp,
        emergency_bp,
        audit_bp,
        privacy_bp,
        records_bp,
        reports_bp,
    ):
        app.register_blueprint(blueprint)


def _register_template_helpers(app: Flask) -> None:
    from kimdb import labels
    from kimdb.views import site_navigation, url_builder

    app.jinja_env.globals.update(labels=labels)
    app.jinja_env.filters.update(
        date=labels.format_day,
        datetime=labels.format_moment,
        fte=labels.format_fte,
        percent=labels.format_percent,
        cases=labels.format_cases,
    )
    app.jinja_env.globals["current_locale"] = select_locale
    app.jinja_env.globals["url_builder"] = url_builder
    app.jinja_env.globals["site_navigation"] = site_navigation
    # Templates translate through the request's translations looked up once (Flask-Babel's
    # own callables look them up again for each of the ~150 strings of a dashboard).
    labels.install_template_gettext(app.jinja_env)


class IdConverter(IntegerConverter):
    """Route ids: positive and within a 32-bit integer column (larger ones are simply 404)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=2**31 - 1)


def _register_security_headers(app: Flask) -> None:
    """Send a strict CSP and related headers; no inline scripts or styles anywhere."""

    @app.before_request
    def refuse_nul_bytes():
        # PostgreSQL refuses NUL in text; no legitimate form value contains one.
        for values in (request.args, request.form):
            if any("\x00" in v for v in values.values()):
                abort(400)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint and request.endpoint != "static":
            # Pages hold client data: never keep them in a shared or browser cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _register_error_handlers(app: Flask) -> None:
    """German error pages; nothing about the inside of kimdb is shown."""
    from flask import render_template
    from flask_wtf.csrf import CSRFError

    from kimdb.i18n import lazy_gettext as _l

    pages = {
        400: (_l("Ungültige Anfrage"), _l("Die Anfrage konnte nicht verarbeitet werden.")),
        403: (_l("Kein Zugriff"), _l("Sie haben keinen Zugriff auf diese Seite.")),
        404: (
            _l("Nicht gefunden"),
            _l("Diese Seite gibt es nicht, oder Sie haben keinen Zugriff darauf."),
        ),
        413: (
            _l("Datei zu groß"),
            _l("Die hochgeladene Datei ist zu groß. Bitte eine kleinere Datei wählen."),
        ),
        429: (
            _l("Zu viele Versuche"),
            _l("Zu viele Versuche in kurzer Zeit. Bitte warten Sie eine Minute."),
        ),
    }

    def render(code: int):
        title, message = pages[code]
        return render_template("errors/error.html", title=title, message=message), code

    for code in pages:
        app.register_error_handler(code, lambda _e, code=code: render(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        app.logger.info("CSRF refused: %s", error.description)
        return render_template(
            "errors/error.html",
            title=_l("Formular abgelaufen"),
            message=_l(
                "Das Formular ist abgelaufen oder unvollständig (Sicherheitsprüfung). "
                "Bitte laden Sie die Seite neu und senden Sie es noch einmal ab."
            ),
        ), 400
