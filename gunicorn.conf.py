"""gunicorn settings for the web service (`make serve-prod`, the Docker image, compose).

Every value comes from the environment with a default sized for a small machine:
WEB_CONCURRENCY workers (default 2 × cores + 1, at most 8) × GUNICORN_THREADS threads each
(default 4); each thread keeps at most one PostgreSQL connection (DB_CONN_MAX_AGE), so
plan max_connections ≥ web containers × workers × threads + workers of Celery.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request slower than this is killed (PostgreSQL's statement timeout should come first).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so slow leaks never add up.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Trust X-Forwarded-* only from the proxy in front (comma-separated addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "renoz.wsgi:application"


def post_worker_init(worker):
    """Freeze what the worker has loaded (Django, the project, plotly's templates): the
    garbage collector's full passes then scan only what requests allocate, not the few
    hundred thousand objects every import left, which otherwise added several milliseconds
    to whichever request happened to trigger one (docs/scaling.md, "Issue 25, fourth stop")."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - load the URL configuration before freezing
    gc.collect()
    gc.freeze()
