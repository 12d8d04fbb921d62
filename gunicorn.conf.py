"""gunicorn settings of kimdb (``gunicorn -c gunicorn.conf.py wsgi:app``).

The access log names the path but never the query string or the referrer: a case search
carries a name or a date of birth in its query, which must not end up in log files
(DESIGN.md §4). Every other setting comes from a ``KIMDB_*`` variable with a default for a
machine that serves kimdb alone behind a reverse proxy on the same host (README.md, "Running in
production", and the table in "Configuration"). Options on the command line (``--bind``,
``--workers``) win over this file.
"""

from __future__ import annotations

import gc
import os


def _int(name: str, default: int) -> int:
    """Return the environment variable ``name`` as a whole number, or ``default`` if unset.

    Raises ValueError naming the variable if it is set but not a whole number ≥ 0.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number ≥ 0, got {raw!r}")
    return int(raw)


def default_workers(cores: int | None) -> int:
    """Return the number of worker processes for ``cores`` CPU cores: 2 × cores + 1 (gunicorn's
    rule of thumb), at most 12, so that one host holds at most 12 × ``threads`` connections to
    PostgreSQL (48 with the default of 4 threads) and about 12 × 130 MB of memory."""
    return min(2 * (cores or 1) + 1, 12)


# -- where to listen ------------------------------------------------------------------------
# Only the reverse proxy talks to gunicorn: by default on the loopback interface. An app host
# behind a proxy on another machine binds its internal address (KIMDB_BIND=10.0.0.11:8000) and
# lets its firewall accept the proxy only.
bind = [os.environ.get("KIMDB_BIND") or "127.0.0.1:8000"]

# -- processes and threads ------------------------------------------------------------------
# Worker processes: KIMDB_WORKERS, else gunicorn's own WEB_CONCURRENCY, else 2 × cores + 1
# (at most 12). Processes use every core; the threads of one process share the GIL.
workers = _int("KIMDB_WORKERS", _int("WEB_CONCURRENCY", default_workers(os.cpu_count())))
# Threads per worker (KIMDB_THREADS, default 4): gunicorn's "gthread" worker. A kimdb request
# waits part of its time for PostgreSQL (several queries, and the commit of its audit entry);
# while it waits another thread of the same process renders a page. Measured with wrk on the
# demo (README.md, "Running in production"): 2 workers × 4 threads served more requests than
# 2 plain workers on a loaded machine and as many on a quiet one. Each thread holds at most one
# database connection, so keep threads ≤ 5, the size of SQLAlchemy's pool per worker.
# KIMDB_THREADS=1 gives the plain "sync" worker (one request at a time per process).
threads = max(1, _int("KIMDB_THREADS", 4))

# -- time limits ----------------------------------------------------------------------------
# A worker whose main loop is silent this long is killed and restarted. With threads that
# means a stuck process, not a long request; with the sync worker (KIMDB_THREADS=1) it also
# limits one request: the longest regular one is a statewide annual report with its PDF
# (about 10 s, bench/reports.py), so leave room. The proxy's read timeout should match.
timeout = _int("KIMDB_TIMEOUT", 120)
# On a restart (SIGHUP, systemd reload) or shutdown, running requests may finish this long.
graceful_timeout = _int("KIMDB_GRACEFUL_TIMEOUT", 30)
# Seconds an idle keep-alive connection from the proxy stays open (gthread only; the sync
# worker closes each connection after its response, which is right behind a buffering proxy).
keepalive = 5

# -- memory ---------------------------------------------------------------------------------
# A worker is replaced after this many requests (plus a random 0..jitter, so that they do not
# all restart at once): it returns the memory that PDF and spreadsheet exports leave
# fragmented. 0 switches it off.
max_requests = _int("KIMDB_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# Load kimdb once in the master process before forking: a missing key or setting stops the
# start with one clear error instead of every worker failing in turn, and the workers share the
# loaded code (copy-on-write). The master opens no database connection; post_fork below makes
# sure a worker never reuses one that a fork copied. KIMDB_PRELOAD=false loads kimdb in every
# worker instead (then `kill -HUP` reloads changed code without a full restart).
preload_app = os.environ.get("KIMDB_PRELOAD", "true").strip().lower() not in {"0", "false", "no"}

# gunicorn ≥ 25.1 opens a control socket (gunicornc) in the home directory; kimdb is managed
# through systemd and signals, so there is no socket to secure or to clash between instances.
control_socket_disable = True

# The heartbeat files of the workers (gunicorn makes them with mkstemp, mode 600) live in
# memory, not on a disk that may stall, as gunicorn's documentation advises.
_SHM = "/dev/shm"  # noqa: S108 - see above
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# -- the reverse proxy ----------------------------------------------------------------------
# Addresses whose X-Forwarded-Proto gunicorn believes (it then sets the https scheme). kimdb
# itself trusts X-Forwarded-For/-Proto of KIMDB_PROXY_COUNT proxies (werkzeug's ProxyFix); set
# both when the proxy runs on another machine, e.g. KIMDB_FORWARDED_ALLOW_IPS=10.0.0.10.
forwarded_allow_ips = os.environ.get("KIMDB_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

# -- logs -----------------------------------------------------------------------------------
# Both to standard output/error, i.e. to the journal under systemd. Never run production with
# loglevel "debug": it logs request details.
accesslog = "-"
errorlog = "-"
loglevel = "info"
# Remote address, time, method, path without query, status, bytes, duration in milliseconds.
# Behind a proxy the remote address is the proxy's; the proxy's own log names the client.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def pre_fork(server, worker) -> None:
    """Before a worker is forked from a preloading master: move every object the master holds
    (the loaded app, SQLAlchemy's mappers, the templates' code; about 200,000) into Python's
    permanent generation (``gc.freeze``), as the ``gc`` documentation advises for forking
    servers. The workers' full garbage collections then skip them: one took about 200 ms
    every few hundred requests of the case list (issue 8, measured), and the shared pages stay
    shared instead of being copied when the collector touches them. Takes gunicorn's arbiter
    and the worker to be; returns nothing.
    """
    if server.cfg.preload_app:
        gc.freeze()


def post_fork(server, worker) -> None:
    """Drop database connections a preloaded app might hand down from the master process.

    A connection shared by two processes mixes their conversations with PostgreSQL (SQLAlchemy,
    "Using Connection Pools with Multiprocessing"), so each worker starts with empty pools:
    ``dispose(close=False)`` forgets the inherited connections without closing the master's.
    Takes gunicorn's arbiter and the new worker; returns nothing.
    """
    if not server.cfg.preload_app:
        return
    from kimdb.extensions import db

    app = server.app.wsgi()
    if not hasattr(app, "app_context"):  # not kimdb (e.g. bench/floor.py's bare app)
        return
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
