"""Settings fail loudly on bad environment values, and default safely when unset.

The start-up tests import the real settings module in a fresh interpreter, the way
`manage.py` and Celery do, so a bad value must stop the process and name the variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from infra import env

REPO = Path(__file__).resolve().parent.parent
# Variables settings.py reads; each start-up test begins with none of them set.
SETTINGS_VARIABLES = [
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "TIME_ZONE",
    "DB_CONN_MAX_AGE",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "LOG_LEVEL",
    "MEDIA_ROOT",
    "CELERY_TASK_ALWAYS_EAGER",
    "WORKER_QUEUES",
    "DATABASE_REPLICA_URL",
    "REPLICA_MAX_LAG_SECONDS",
]
LOAD_SETTINGS = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default']['NAME'], settings.DEBUG, settings.TIME_ZONE)"
)


# A key as `python -c 'import secrets; print(secrets.token_urlsafe(50))'` makes them.
STRONG_KEY = "tP3xQm9Vb2Lk7Rz0Wc4Hs8Jd1Fg6Ny5Ua_Ei-Ko3Mp7Qr2Tv9Xw4Zb8Cd1Gf6Hj0"  # noqa: S105


def start_django(code: str = LOAD_SETTINGS, **variables: str) -> subprocess.CompletedProcess:
    """Load renoz.settings in a new interpreter with only `variables` set from the list above."""
    environ = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environ.update(variables, DJANGO_SETTINGS_MODULE="renoz.settings", PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_load_with_no_environment_at_all():
    result = start_django()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["renoz", "True", "Australia/Sydney"]


def test_settings_load_for_production_with_a_secret_key():
    result = start_django(DEBUG="0", SECRET_KEY=STRONG_KEY, TIME_ZONE="Australia/Perth")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["renoz", "False", "Australia/Perth"]


BAD_VALUES = [
    ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "postgres://h:notaport/db"),
    ("DATABASE_URL", "postgres://h:99999/db"),
    ("DATABASE_URL", "postgres://h:5432/"),
    ("DATABASE_URL", "renoz"),
    ("REDIS_URL", "http://x"),
    ("REDIS_URL", "redis://h:port/0"),
    ("CELERY_BROKER_URL", "amqp://guest@rabbit//"),
    ("DEBUG", "maybe"),
    ("EMAIL_USE_TLS", "sometimes"),
    ("CELERY_TASK_ALWAYS_EAGER", "2"),
    ("DB_CONN_MAX_AGE", "abc"),
    ("DB_CONN_MAX_AGE", "-1"),
    ("DB_CONN_MAX_AGE", "1.5"),
    ("TIME_ZONE", "Mars/Olympus"),
    ("TIME_ZONE", "../../etc/passwd"),
    ("LOG_LEVEL", "LOUD"),
    ("EMAIL_PORT", "0"),
    ("EMAIL_PORT", "smtp"),
    ("EMAIL_TIMEOUT", "0"),
    ("WORKER_QUEUES", "refresh,pdf"),
    ("DATABASE_REPLICA_URL", "mysql://replica/renoz"),
    ("REPLICA_MAX_LAG_SECONDS", "soon"),
    ("REPLICA_MAX_LAG_SECONDS", "-1"),
    ("REPLICA_MAX_LAG_SECONDS", "nan"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=[f"{n}={v}" for n, v in BAD_VALUES])
def test_bad_value_stops_start_up_and_names_the_variable(name, value):
    result = start_django(**{name: value})
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert name in last_line


def test_a_replica_url_adds_a_replica_database_like_the_primary():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({a: s.DATABASES[a] for a in s.DATABASES})); "
        "print(s.REPLICA_MAX_LAG_SECONDS, s.DATABASE_ROUTERS[0])"
    )
    result = start_django(
        code,
        DATABASE_URL="postgres://app@primary.internal:5432/renoz",
        DATABASE_REPLICA_URL="postgres://reader:pw@replica.internal:6432/renoz",
        REPLICA_MAX_LAG_SECONDS="2.5",
        DB_CONN_MAX_AGE="30",
    )
    assert result.returncode == 0, result.stderr
    databases_line, replica_line = result.stdout.strip().splitlines()
    databases = json.loads(databases_line)
    primary, replica = databases["default"], databases["replica"]
    assert (replica["HOST"], replica["PORT"], replica["USER"], replica["PASSWORD"]) == (
        "replica.internal",
        "6432",
        "reader",
        "pw",
    )
    assert (
        replica["OPTIONS"]
        == primary["OPTIONS"]
        == {
            "connect_timeout": 5,
            "options": "-c jit=off -c max_parallel_workers_per_gather=0",
        }
    )
    assert replica["CONN_MAX_AGE"] == 30
    assert replica["TEST"]["MIRROR"] == "default"
    assert replica_line.split() == ["2.5", "infra.replica.ReplicaRouter"]


def test_without_a_replica_url_there_is_only_the_primary():
    code = (
        "import django; django.setup(); from django.conf import settings as s; print(*s.DATABASES)"
    )
    result = start_django(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["default"]


def test_production_without_secret_key_stops_start_up():
    result = start_django(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr.strip().splitlines()[-1]


def test_production_with_empty_secret_key_stops_start_up():
    result = start_django(DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# --- the helpers in infra/env.py ----------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("RENOZ_T", raising=False)
    return monkeypatch


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_env_bool_reads_true(clean_env, raw):
    clean_env.setenv("RENOZ_T", raw)
    assert env.env_bool("RENOZ_T", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_env_bool_reads_false(clean_env, raw):
    clean_env.setenv("RENOZ_T", raw)
    assert env.env_bool("RENOZ_T", True) is False


def test_env_bool_defaults_when_unset(clean_env):
    assert env.env_bool("RENOZ_T", True) is True
    assert env.env_bool("RENOZ_T") is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "truthy"])
def test_env_bool_refuses_anything_else(clean_env, raw):
    clean_env.setenv("RENOZ_T", raw)
    with pytest.raises(ImproperlyConfigured, match=f"RENOZ_T must be a boolean.*{raw!r}"):
        env.env_bool("RENOZ_T")


def test_env_int_reads_and_defaults(clean_env):
    assert env.env_int("RENOZ_T", 60) == 60
    clean_env.setenv("RENOZ_T", "")
    assert env.env_int("RENOZ_T", 60) == 60
    clean_env.setenv("RENOZ_T", " 42 ")
    assert env.env_int("RENOZ_T", 60, minimum=0) == 42
    clean_env.setenv("RENOZ_T", "0")
    assert env.env_int("RENOZ_T", 60, minimum=0) == 0


@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", "ten"])
def test_env_int_refuses_non_integers(clean_env, raw):
    clean_env.setenv("RENOZ_T", raw)
    with pytest.raises(ImproperlyConfigured, match="RENOZ_T must be an integer"):
        env.env_int("RENOZ_T", 1)


def test_env_int_refuses_values_below_minimum(clean_env):
    clean_env.setenv("RENOZ_T", "0")
    with pytest.raises(ImproperlyConfigured, match="RENOZ_T must be at least 1, got 0"):
        env.env_int("RENOZ_T", 1025, minimum=1)


def test_env_float_reads_defaults_and_refuses(clean_env):
    assert env.env_float("RENOZ_T", 5.0) == 5.0
    clean_env.setenv("RENOZ_T", " 0.25 ")
    assert env.env_float("RENOZ_T", 5.0, minimum=0) == 0.25
    for raw, message in [
        ("fast", "must be a number"),
        ("inf", "must be a finite number"),
        ("-1", "must be at least 0"),
    ]:
        clean_env.setenv("RENOZ_T", raw)
        with pytest.raises(ImproperlyConfigured, match=f"RENOZ_T {message}"):
            env.env_float("RENOZ_T", 5.0, minimum=0)


def test_env_str_and_list(clean_env):
    assert env.env_str("RENOZ_T") == ""
    assert env.env_str("RENOZ_T", "fallback") == "fallback"
    assert env.env_list("RENOZ_T", ["a"]) == ["a"]
    clean_env.setenv("RENOZ_T", " example.com, ,api.example.com ,")
    assert env.env_list("RENOZ_T", ["a"]) == ["example.com", "api.example.com"]
    clean_env.setenv("RENOZ_T", "")
    assert env.env_list("RENOZ_T", ["a"]) == []


def test_env_database_parses_a_full_url(clean_env):
    clean_env.setenv("RENOZ_T", "postgresql://dash%40ops:p%2Fss@db.internal:6543/renoz%5Fprod")
    assert env.env_database("RENOZ_T", "postgres://unused/x") == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "renoz_prod",
        "USER": "dash@ops",
        "PASSWORD": "p/ss",
        "HOST": "db.internal",
        "PORT": "6543",
    }


def test_env_database_defaults_user_host_and_port(clean_env):
    parsed = env.env_database("RENOZ_T", "postgres:///renoz")
    assert (parsed["USER"], parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (
        "postgres",
        "127.0.0.1",
        "5432",
        "renoz",
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://x/db", "must be a postgres:// URL"),
        ("sqlite:///db.sqlite3", "must be a postgres:// URL"),
        ("postgres://h:notaport/db", "invalid port"),
        ("postgres://h:5432", "must name a database"),
    ],
)
def test_env_database_refuses_bad_urls(clean_env, raw, message):
    clean_env.setenv("RENOZ_T", raw)
    with pytest.raises(ImproperlyConfigured, match=f"RENOZ_T.*{message}"):
        env.env_database("RENOZ_T", "postgres:///renoz")


@pytest.mark.parametrize("raw", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380/2"])
def test_env_redis_url_accepts_redis_urls(clean_env, raw):
    clean_env.setenv("RENOZ_T", raw)
    assert env.env_redis_url("RENOZ_T", "redis://unused") == raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [("http://x", "must be a redis:// URL"), ("redis://h:port/0", "invalid port")],
)
def test_env_redis_url_refuses_bad_urls(clean_env, raw, message):
    clean_env.setenv("RENOZ_T", raw)
    with pytest.raises(ImproperlyConfigured, match=f"RENOZ_T.*{message}"):
        env.env_redis_url("RENOZ_T", "redis://127.0.0.1:6379/0")


def test_env_timezone(clean_env):
    assert env.env_timezone("RENOZ_T", "Australia/Sydney") == "Australia/Sydney"
    clean_env.setenv("RENOZ_T", "Australia/Darwin")
    assert env.env_timezone("RENOZ_T", "UTC") == "Australia/Darwin"
    for bad in ["Mars/Olympus", "", "../etc/passwd"]:
        clean_env.setenv("RENOZ_T", bad)
        with pytest.raises(ImproperlyConfigured, match="RENOZ_T must be an IANA time zone"):
            env.env_timezone("RENOZ_T", "UTC")


# --- the cache never makes a request wait --------------------------------------------------


def test_cache_has_short_socket_timeouts_and_ignores_redis_errors():
    options = settings.CACHES["default"]["OPTIONS"]
    assert 0 < options["SOCKET_CONNECT_TIMEOUT"] <= 0.25
    assert 0 < options["SOCKET_TIMEOUT"] <= 0.25
    assert options["IGNORE_EXCEPTIONS"] is True
    assert settings.DJANGO_REDIS_IGNORE_EXCEPTIONS is True


def test_tests_use_their_own_redis_database():
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
    assert settings.CACHES["default"]["LOCATION"] != "redis://127.0.0.1:6379/0"
