#!/usr/bin/env bash
# The production server (gunicorn + WhiteNoise) on this machine: `make serve-prod`.
# DEBUG is off. For a plain-HTTP local run the HTTPS-only switches default to off here;
# behind TLS set SECURE_SSL_REDIRECT=1 SECURE_COOKIES=1 SECURE_HSTS_SECONDS=31536000.
set -euo pipefail
export DEBUG=0 STATIC_MANIFEST=1
# No default key: everything signed (sessions, reset and unsubscribe links) would be forgeable.
# Refuse to start, saying how to make one (infra/secret_key.py).
.venv/bin/python -m infra.secret_key check
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-0}
export SECURE_COOKIES=${SECURE_COOKIES:-0}
export SECURE_HSTS_SECONDS=${SECURE_HSTS_SECONDS:-0}
export GUNICORN_BIND=${GUNICORN_BIND:-${HOST:-127.0.0.1}:${PORT:-8000}}
.venv/bin/python manage.py collectstatic --noinput -v 0
exec .venv/bin/gunicorn -c gunicorn.conf.py
