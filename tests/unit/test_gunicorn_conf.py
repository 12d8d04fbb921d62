"""gunicorn.conf.py: logs without query strings (DESIGN.md §4) and settings from KIMDB_* variables
(issue 8 item 4). The file is loaded the way gunicorn loads it (executed as a Python file) and its
values are handed to gunicorn's own Config and access logger."""

from __future__ import annotations

import datetime as dt
import os
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
VARIABLES = (
    "KIMDB_BIND",
    "KIMDB_WORKERS",
    "WEB_CONCURRENCY",
    "KIMDB_THREADS",
    "KIMDB_TIMEOUT",
    "KIMDB_GRACEFUL_TIMEOUT",
    "KIMDB_MAX_REQUESTS",
    "KIMDB_PRELOAD",
    "KIMDB_FORWARDED_ALLOW_IPS",
)


def load(monkeypatch, **env: str) -> dict:
    """Return the settings of gunicorn.conf.py read with exactly the variables ``env`` set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def settings_of(namespace: dict) -> dict:
    """Return the names of ``namespace`` that gunicorn reads as settings (its config-file rule:
    lower-case names that are not modules, helpers or private)."""
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_")
        and name.islower()
        and not isinstance(value, type(os))
        and name not in {"annotations", "default_workers"}
    }


def test_every_name_in_the_file_is_a_gunicorn_setting_it_accepts(monkeypatch):
    # gunicorn silently ignores an unknown name (a typo like ``max_request``): catch it here.
    config = Config()
    for name, value in settings_of(load(monkeypatch)).items():
        assert name in config.settings, f"{name} is not a gunicorn setting"
        config.set(name, value)  # gunicorn's validator raises on a wrong type
    assert config.worker_class_str == "gthread"


def test_access_log_holds_no_query_string_and_no_referrer(monkeypatch, tmp_path):
    namespace = load(monkeypatch)
    config = Config()
    config.set("access_log_format", namespace["access_log_format"])
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/cases?name=Haddad&born=1990-04-01",
        "PATH_INFO": "/cases",
        "QUERY_STRING": "name=Haddad&born=1990-04-01",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://kimdb.example/cases?name=Haddad",
    }
    response = SimpleNamespace(status="200 OK", sent=512, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, dt.timedelta(milliseconds=12))
    for handler in logger.access_log.handlers:
        handler.flush()

    line = (tmp_path / "access.log").read_text()
    assert '"GET /cases" 200 512 12ms' in line
    assert "Haddad" not in line
    assert "1990" not in line


def test_defaults_without_variables(monkeypatch):
    namespace = load(monkeypatch)
    assert namespace["bind"] == ["127.0.0.1:8000"]
    assert namespace["workers"] == namespace["default_workers"](os.cpu_count())
    assert namespace["threads"] == 4
    assert namespace["preload_app"] is True
    assert namespace["max_requests_jitter"] == namespace["max_requests"] // 10
    assert namespace["forwarded_allow_ips"] == "127.0.0.1,::1"


def test_workers_are_two_per_core_plus_one_and_capped_at_twelve(monkeypatch):
    default_workers = load(monkeypatch)["default_workers"]
    assert [default_workers(cores) for cores in (None, 1, 2, 4, 8, 64)] == [3, 3, 5, 9, 12, 12]


def test_kimdb_variables_override_the_defaults(monkeypatch):
    namespace = load(
        monkeypatch,
        KIMDB_BIND="10.0.0.11:8000",
        KIMDB_WORKERS="3",
        WEB_CONCURRENCY="7",
        KIMDB_THREADS="1",
        KIMDB_TIMEOUT="45",
        KIMDB_MAX_REQUESTS="0",
        KIMDB_PRELOAD="false",
        KIMDB_FORWARDED_ALLOW_IPS="10.0.0.10",
    )
    assert namespace["bind"] == ["10.0.0.11:8000"]
    assert namespace["workers"] == 3  # KIMDB_WORKERS wins over WEB_CONCURRENCY
    assert namespace["threads"] == 1
    assert namespace["timeout"] == 45
    assert namespace["max_requests"] == 0
    assert namespace["preload_app"] is False
    assert namespace["forwarded_allow_ips"] == "10.0.0.10"


def test_web_concurrency_is_used_without_kimdb_workers(monkeypatch):
    assert load(monkeypatch, WEB_CONCURRENCY="7")["workers"] == 7


def test_a_malformed_number_names_the_variable(monkeypatch):
    with pytest.raises(ValueError, match="KIMDB_WORKERS"):
        load(monkeypatch, KIMDB_WORKERS="four")


@pytest.mark.parametrize("preload", [True, False])
def test_a_preloading_master_freezes_its_objects_before_forking(monkeypatch, preload):
    import gc

    pre_fork = load(monkeypatch)["pre_fork"]
    server = SimpleNamespace(cfg=SimpleNamespace(preload_app=preload))
    gc.unfreeze()
    try:
        pre_fork(server, None)
        assert (gc.get_freeze_count() > 0) is preload
    finally:
        gc.unfreeze()
