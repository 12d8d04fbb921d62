"""Settings classes of kimdb.

Everything a deployment changes comes from a ``KIMDB_*`` environment variable (README.md,
"Configuration"). ``create_app`` picks the class named by ``KIMDB_CONFIG`` (``production`` by
default, ``development`` for ``make demo``, ``testing`` for the test suite).

``KIMDB_REPORTS_DATABASE_URL`` (optional, issue 8 item 4): a read-only PostgreSQL replica of
the main database for the statistics report. When set, it becomes the Flask-SQLAlchemy bind
``reports`` and the report's read-only queries run there
(``kimdb.reports.queries.report_connection``); unset, they run on ``KIMDB_DATABASE_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    """Return the environment variable ``KIMDB_<name>`` or ``default``."""
    return os.environ.get(f"KIMDB_{name}", default)


def _env_int(name: str, default: int) -> int:
    """Return ``KIMDB_<name>`` as an int; raise ValueError naming the variable if malformed."""
    raw = _env(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"KIMDB_{name} must be a whole number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    """Return ``KIMDB_<name>`` read as a boolean (1/true/yes/on)."""
    raw = _env(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production defaults: secure cookies, secrets required from the environment.

    The values are read from the environment when an instance is made (in ``create_app``), so a
    process can change ``KIMDB_*`` variables before it builds an app.
    """

    # The encryption keys are required too, from one of three variables: kimdb.crypto checks
    # them (keyring_from_settings) and names the variable in its error.
    REQUIRED = ("SECRET_KEY", "BLIND_INDEX_KEY")
    secure_cookies_default = True

    def __init__(self) -> None:
        self.SECRET_KEY = _env("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = _env(
            "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'kimdb.sqlite3'}"
        )
        # Idle connections are pinged before use (kimdb.extensions.ping_idle_connections).
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False}
        # A read-only replica for the statistics report (issue 8 item 4); see the docstring.
        reports_url = _env("REPORTS_DATABASE_URL")
        self.SQLALCHEMY_BINDS = {"reports": reports_url} if reports_url else {}
        # AES-256-GCM keys (urlsafe base64 of 32 bytes), newest first; never in the database.
        # Exactly one of: the keys themselves (comma- or newline-separated), a key file (one
        # key per line, mode 600), or the older single-variable name (issue 6 item 1).
        self.ENCRYPTION_KEYS = _env("ENCRYPTION_KEYS")
        self.ENCRYPTION_KEYS_FILE = _env("ENCRYPTION_KEYS_FILE")
        self.ENCRYPTION_KEY = _env("ENCRYPTION_KEY")
        # Urlsafe base64 HMAC key (>= 32 bytes) of the name/date-of-birth search indexes.
        self.BLIND_INDEX_KEY = _env("BLIND_INDEX_KEY")
        self.REOPEN_DAYS = _env_int("REOPEN_DAYS", 90)
        self.STORAGE_DIR = _env("STORAGE_DIR", str(BASE_DIR / "instance" / "storage"))
        self.MAX_UPLOAD_MB = _env_int("MAX_UPLOAD_MB", 10)
        # Request body limit: the scan plus room for the other form fields.
        self.MAX_CONTENT_LENGTH = (self.MAX_UPLOAD_MB + 1) * 1024 * 1024
        self.INACTIVITY_DAYS = _env_int("INACTIVITY_DAYS", 30)
        # Hours a supervisor's emergency access ("break the glass", issue 5 item 7) runs.
        self.EMERGENCY_ACCESS_HOURS = _env_int("EMERGENCY_ACCESS_HOURS", 4)
        if not 1 <= self.EMERGENCY_ACCESS_HOURS <= 24:
            raise ValueError("KIMDB_EMERGENCY_ACCESS_HOURS must be between 1 and 24 (hours)")
        self.CONSENT_FORMS_DIR = _env("CONSENT_FORMS_DIR", str(BASE_DIR / "consent_forms"))
        # Days after a case's closure until the client's personal data are erased (issue 6
        # item 5; README "Retention" says why three years).
        self.RETENTION_DAYS = _env_int("RETENTION_DAYS", 3 * 365)
        if self.RETENTION_DAYS < self.REOPEN_DAYS:
            raise ValueError("KIMDB_RETENTION_DAYS must not be shorter than KIMDB_REOPEN_DAYS")
        # Statistics: cells of fewer persons are suppressed ("< 5"), issue 7 item 2.
        self.STATS_MIN_CELL = _env_int("STATS_MIN_CELL", 5)
        if self.STATS_MIN_CELL < 2:
            raise ValueError("KIMDB_STATS_MIN_CELL must be at least 2 (persons)")
        # Two-factor login (TOTP): roles that must use it; case managers may be required too.
        self.TOTP_REQUIRED_ROLES = tuple(
            r.strip()
            for r in (_env("TOTP_REQUIRED_ROLES", "supervisor,admin,dpo,state") or "").split(",")
            if r.strip()
        )
        if (
            _env_bool("TOTP_CASE_MANAGERS", False)
            and "case_manager" not in self.TOTP_REQUIRED_ROLES
        ):
            self.TOTP_REQUIRED_ROLES += ("case_manager",)

        self.BABEL_DEFAULT_LOCALE = "de"
        self.BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"  # kimdb serves NRW (kimdb.timeutil)
        self.BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "kimdb" / "translations")
        self.LANGUAGES = ("de", "en")

        secure = _env_bool("SECURE_COOKIES", self.secure_cookies_default)
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_SECURE = secure
        self.SESSION_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_NAME = "kimdb_session"
        self.PERMANENT_SESSION_LIFETIME = _env_int("SESSION_MINUTES", 480) * 60
        # A session unused this long ends (issue 6 item 7); the absolute limit stays.
        self.SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
        # The cookie is sent again only when the session changes (login, the last-seen time
        # refreshed once a minute), not with every response: the limits above are checked on
        # the server, so a cookie renewed at each request would end no later (issue 8: one
        # signing and one Set-Cookie header less per page).
        self.SESSION_REFRESH_EACH_REQUEST = False

        # The audit entry of a read (one per page showing client data) is committed without
        # waiting for the disk on PostgreSQL unless this is true: a crash of the database
        # server can lose the read entries of its last fraction of a second (the newest ones,
        # so the chain stays intact); entries of writes always commit with the write
        # (kimdb.audit.service.append_read, issue 8: about 10 ms less per page).
        self.AUDIT_SYNCHRONOUS_READS = _env_bool("AUDIT_SYNCHRONOUS_READS", False)

        self.WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session
        # KIMDB_RATELIMIT_STORAGE_URL (KIMDB_RATELIMIT_STORAGE_URI is the older name).
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URL") or _env(
            "RATELIMIT_STORAGE_URI", "memory://"
        )
        # Redis down: count in each worker's memory instead of failing every login (a login
        # page answering 500 locks everyone out) or not counting at all.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "10 per minute")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.RATELIMIT_LOGIN_ACCOUNT = _env("RATELIMIT_LOGIN_ACCOUNT", "20 per hour")
        # Number of reverse proxies in front of kimdb whose X-Forwarded-* headers are trusted.
        self.PROXY_COUNT = _env_int("PROXY_COUNT", 0)


class DevelopmentConfig(Config):
    """``make demo``: plain http on 127.0.0.1, so cookies are not marked secure by default."""

    secure_cookies_default = False


class TestingConfig(DevelopmentConfig):
    """The test suite: database from ``KIMDB_DATABASE_URL``, throw-away keys and storage."""

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.RATELIMIT_ENABLED = False


CONFIGS = {
    "production": Config,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}
