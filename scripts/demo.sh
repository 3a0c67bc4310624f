#!/usr/bin/env bash
# Serve the dashboard with one Celery worker and one beat; Ctrl-C stops all three.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
BIN=.venv/bin
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping web, worker and beat..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT
$BIN/celery -A renoz worker -l info --concurrency 2 >/tmp/renoz-worker.log 2>&1 & pids+=($!)
$BIN/celery -A renoz beat -l info --schedule /tmp/renoz-celerybeat-schedule >/tmp/renoz-beat.log 2>&1 & pids+=($!)
$BIN/python manage.py runserver "$HOST:$PORT" --noreload & pids+=($!)
sleep 2
cat <<MSG

  Renoz Dashboard is running at http://$HOST:$PORT/dashboard/

  Demo logins (password for all: renoz-demo)
    admin@renoz.demo       admin       executive layout
    sales@renoz.demo       sales       pipeline layout
    ops@renoz.demo         operations  installations layout
    tech@renoz.demo        technician  my jobs (mobile)
    viewer@renoz.demo      viewer      executive, read-only

  Worker log: /tmp/renoz-worker.log   Beat log: /tmp/renoz-beat.log
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
