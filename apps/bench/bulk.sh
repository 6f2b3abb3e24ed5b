#!/usr/bin/env bash
# Times a bulk job end to end: builds apps/api, apps/worker and apps/bench,
# starts them on a fresh database, and runs the bench (see apps/bench).
#
#   bash apps/bench/bulk.sh              # PostgreSQL + Redis, one apps/worker
#   MODE=embedded bash apps/bench/bulk.sh  # PostgreSQL, in-process queue
#   MODE=sqlite bash apps/bench/bulk.sh    # the embedded default: SQLite, in-process
#
# ROWS (default 25000), BENCHFLAGS (e.g. -no-mail), PG (server URL without
# database), REDIS (a Redis URL whose database is flushed!) tune it.
# WEBHOOK=1 gives the organization a webhook endpoint served by the bench
# for every row's credential.issued and the job's completion, and reports
# the delivery rate beside the bulk rate.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${MODE:-redis}
ROWS=${ROWS:-25000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/15}
PORT=${PORT:-8093}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/api" ./apps/api
go build -o "$work/worker" ./apps/worker
go build -o "$work/bench" ./apps/bench

export CREDENCE_DATA_DIR="$work/data" CREDENCE_HTTP_ADDR="127.0.0.1:$PORT" CREDENCE_LOG_LEVEL=warn CREDENCE_RATE_LIMIT_IP=0 \
  CREDENCE_ADMIN_EMAILS=admin@example.com CREDENCE_PLANS='{"professional":{"monthlyRecipients":-1},"enterprise":{"monthlyRecipients":-1}}'
if [ "${WEBHOOK:-}" = 1 ]; then
  export CREDENCE_WEBHOOK_ALLOW_PRIVATE=1
  BENCHFLAGS="${BENCHFLAGS:-} -webhook"
fi
if [ "$MODE" != sqlite ]; then
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS credence_bench" -c "CREATE DATABASE credence_bench" >/dev/null 2>&1
  export CREDENCE_DATABASE_URL="$PG/credence_bench?sslmode=disable" CREDENCE_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
fi
measured=api
if [ "$MODE" = redis ]; then
  redis-cli -u "$REDIS" flushdb >/dev/null
  export CREDENCE_REDIS_URL="$REDIS"
  "$work/worker" > "$work/worker.log" 2>&1 &
  measured=worker
fi
"$work/api" > "$work/api.log" 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
echo "mode: $MODE, rows: $ROWS, $(nproc) cores"
"$work/bench" -url "http://127.0.0.1:$PORT" -mail-dir "$work/data/mail" -rows "$ROWS" \
  -pid "$(pgrep -n -f "^$work/$measured")" ${BENCHFLAGS:-}
