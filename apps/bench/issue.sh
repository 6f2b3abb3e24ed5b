#!/usr/bin/env bash
# Times single issuance over HTTP next to issuing through the core in
# process, on the same PostgreSQL database: builds apps/api and apps/bench,
# starts the API on a fresh database (in-process queue), and runs
# `bench -mode issue` (see apps/bench).
#
#   bash apps/bench/issue.sh
#
# CLIENTS (default 16), SLICES (4), SLICE (3s), BENCHFLAGS (default
# -no-mail: the issue path without sending mail; set it empty to keep
# recipient mail on), PG (server URL without database) tune it. The rate
# limits are raised out of the way (the limiter still counts every request).
set -euo pipefail
cd "$(dirname "$0")/../.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8094}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/api" ./apps/api
go build -o "$work/bench" ./apps/bench

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS credence_issue_bench" -c "CREATE DATABASE credence_issue_bench" >/dev/null 2>&1
db="$PG/credence_issue_bench?sslmode=disable"
export CREDENCE_DATA_DIR="$work/data" CREDENCE_HTTP_ADDR="127.0.0.1:$PORT" CREDENCE_LOG_LEVEL=warn \
  CREDENCE_RATE_LIMIT_IP=1000000 CREDENCE_RATE_LIMIT_KEY=1000000 \
  CREDENCE_ADMIN_EMAILS=admin@example.com CREDENCE_PLANS='{"professional":{"monthlyRecipients":-1}}' \
  CREDENCE_DATABASE_URL="$db" CREDENCE_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
"$work/api" > "$work/api.log" 2>&1 & api_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
echo "issue over HTTP vs in process, $(nproc) cores"
"$work/bench" -mode issue -pid "$api_pid" -url "http://127.0.0.1:$PORT" -mail-dir "$work/data/mail" -inprocess-db "$db" \
  -clients "${CLIENTS:-16}" -slices "${SLICES:-4}" -slice "${SLICE:-3s}" ${BENCHFLAGS--no-mail} || { tail -20 "$work/api.log"; exit 1; }
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS credence_issue_bench WITH (FORCE)" >/dev/null 2>&1 || true
