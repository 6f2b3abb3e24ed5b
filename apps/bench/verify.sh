#!/usr/bin/env bash
# Measures verification under load on both stores in one run: builds
# apps/api, apps/worker and apps/bench, then for each store starts the API
# on a fresh database and runs `bench -mode verify` (see apps/bench):
#
#   - sqlite:   the embedded default (SQLite, in-process queue and limiter);
#   - postgres: PostgreSQL, with Redis for the queue and the rate limiter
#               (and one apps/worker, which delivers the sign-up mail).
#
#   bash apps/bench/verify.sh
#
# STORES (default "sqlite postgres"), DURATION (5s), CONNS (64), RATES
# (500,1000), CREDENTIALS (200), PG (server URL without database), REDIS (a
# Redis URL; default database 14, not flushed) and BENCHFLAGS tune it. The
# rate limits are raised out of the way (the limiter still counts every
# request). API_SRC (default: this checkout) is the source tree apps/api and
# apps/worker are built from, to measure another version with the same
# load generator, e.g. one made by `git worktree add /tmp/before <commit>`.
# LOGS, a folder, keeps the servers' logs (api-<store>.log, worker.log)
# there, to read a stall the bench reports against them (the bench gives the
# wall-clock time of each phase's slowest request; the api logs at warn
# level, so set CREDENCE_LOG_LEVEL in its env line for more).
set -euo pipefail
if [ -n "${LOGS:-}" ]; then LOGS=$(realpath -m "$LOGS"); fi # before the cd below
cd "$(dirname "$0")/../.."
STORES=${STORES:-sqlite postgres}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/14}
PORT=${PORT:-8095}
work=$(mktemp -d)
db=credence_verify_bench_$$
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${LOGS:-}" ]; then mkdir -p "$LOGS" && cp "$work"/*.log "$LOGS"/ 2>/dev/null || true; fi
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

API_SRC=${API_SRC:-.}
(cd "$API_SRC" && go build -o "$work/api" ./apps/api && go build -o "$work/worker" ./apps/worker)
go build -o "$work/bench" ./apps/bench
# The binaries just written (about 100 MB) go to disk now, not when the
# kernel writes dirty pages back some 30 s later, inside a measurement.
sync

echo "verification under load, $(nproc) cores, $(date -u +%FT%TZ), api from $(git -C "$API_SRC" rev-parse --short HEAD 2>/dev/null || echo "$API_SRC")"
for store in $STORES; do
  data="$work/data-$store"
  env=(CREDENCE_DATA_DIR="$data" CREDENCE_HTTP_ADDR="127.0.0.1:$PORT" CREDENCE_LOG_LEVEL=warn
    CREDENCE_RATE_LIMIT_IP=1000000 CREDENCE_RATE_LIMIT_KEY=1000000
    CREDENCE_ADMIN_EMAILS=admin@example.com CREDENCE_PLANS='{"professional":{"monthlyRecipients":-1}}')
  worker=
  settle=
  if [ "$store" = postgres ]; then
    # The setup's writes vacuumed and analyzed before the measurements, as
    # pgbench does, not by an autovacuum in the middle of one.
    settle="psql '$PG/$db' -qc 'VACUUM ANALYZE' -c 'CHECKPOINT'"
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    env+=(CREDENCE_DATABASE_URL="$PG/$db?sslmode=disable" CREDENCE_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
      CREDENCE_REDIS_URL="$REDIS")
    env "${env[@]}" "$work/worker" > "$work/worker.log" 2>&1 & worker=$!
  fi
  env "${env[@]}" "$work/api" > "$work/api-$store.log" 2>&1 & api=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  echo "== $store"
  "$work/bench" -mode verify -pid "$api" -url "http://127.0.0.1:$PORT" -mail-dir "$data/mail" \
    -duration "${DURATION:-5s}" -conns "${CONNS:-64}" -rates "${RATES:-500,1000}" -credentials "${CREDENTIALS:-200}" -after-setup "$settle" \
    ${BENCHFLAGS:-} | tee "$work/out-$store" || { tail -20 "$work/api-$store.log"; exit 1; }
  echo "api peak memory (VmHWM): $(awk '/VmHWM/ {print $2, $3}' /proc/$api/status)"
  kill "$api" $worker 2>/dev/null || true
  wait "$api" $worker 2>/dev/null || true
  if [ "$store" = postgres ]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  fi
done
echo "== summary"
for store in $STORES; do
  sed -n "s/^summary: /$store: /p" "$work/out-$store"
done
