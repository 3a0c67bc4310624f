#!/usr/bin/env bash
# `make load`: seed the year3 benchmark (once), start gunicorn (the production server), run
# Locust headless (LOAD_USERS users for LOAD_SECONDS, a full view refresh half-way), print the
# table and check the budgets: 0 errors, p95 <= 150 ms, p99 <= 400 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
USERS=${LOAD_USERS:-20}
SECONDS_RUN=${LOAD_SECONDS:-60}
PORT=${LOAD_PORT:-8765}
OUT=${LOAD_OUT:-artifacts/load}
mkdir -p "$OUT"

$BIN/python manage.py seed_benchmark --volume year3 --no-progress | tail -n 3
$BIN/python manage.py refresh_daily_summaries > /dev/null

# serve_prod.sh refuses a weak key: the load server gets a random one of its own.
if ! $BIN/python -m infra.secret_key check 2>/dev/null; then
  SECRET_KEY=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(50))')
  export SECRET_KEY
fi
HOST=127.0.0.1 PORT=$PORT GUNICORN_ACCESS_LOG=/dev/null bash scripts/serve_prod.sh \
  > "$OUT/gunicorn.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
# collectstatic compresses every file first (gzip + brotli): allow it a few minutes.
up=0
for _ in $(seq 1 360); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1; then up=1; break; fi
  sleep 0.5
done
if [ "$up" != 1 ]; then echo "gunicorn did not start; see $OUT/gunicorn.log"; exit 1; fi

# The full refresh in the middle of the run (every materialized view, then cache versions bump).
( sleep $((SECONDS_RUN / 2)); $BIN/python manage.py refresh_daily_summaries \
    > "$OUT/refresh.log" 2>&1; echo "refresh done at $(date +%T)" >> "$OUT/refresh.log" ) &
refresher=$!

$BIN/locust -f scripts/load/locustfile.py --headless -u "$USERS" -r "$USERS" \
  -t "${SECONDS_RUN}s" --host "http://127.0.0.1:$PORT" --csv "$OUT/locust" \
  --only-summary --loglevel WARNING > "$OUT/locust.txt" 2>&1 || true
wait $refresher
cat "$OUT/refresh.log" | tail -n 1
$BIN/python scripts/load/report.py "$OUT/locust_stats.csv"
