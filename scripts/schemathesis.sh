#!/usr/bin/env bash
# Fuzz the JSON API with schemathesis (--checks all) against a running `avtal serve`, on SQLite
# or PostgreSQL, with the sample registry loaded and an admin API token. Not run in CI: it needs
# schemathesis from PyPI and takes minutes. RELIABILITY.md (API fuzzing) has a run's findings.
#
#   scripts/schemathesis.sh sqlite|postgres [extra st run options]
#
# Environment: AVTAL_BIN (default target/debug/avtal), ST (default
# /opt/wt-target/parties-venv/bin/st; make one with `python3 -m venv DIR && DIR/bin/pip install
# schemathesis`), PORT (default 18089), MAX_EXAMPLES (default 30), PGURL (default
# postgres://postgres@127.0.0.1:5432; the database avtal_schemathesis is made afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
shift || true
bin="${AVTAL_BIN:-${CARGO_TARGET_DIR:-target}/debug/avtal}"
st="${ST:-/opt/wt-target/parties-venv/bin/st}"
port="${PORT:-18089}"
pgurl="${PGURL:-postgres://postgres@127.0.0.1:5432}"
data="$(mktemp -d)"
case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$data/avtal.db?mode=rwc" ;;
  postgres)
    psql "$pgurl/postgres" -qc 'DROP DATABASE IF EXISTS avtal_schemathesis' -c 'CREATE DATABASE avtal_schemathesis'
    export DATABASE_URL="$pgurl/avtal_schemathesis" ;;
  *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
esac
# The samples' day, so the registry and its deadlines look as in the demo.
export AVTAL_TODAY=2026-11-22 AVTAL_NOTIFY__INTERVAL_SECONDS=0 RUST_LOG=warn
"$bin" --data-dir "$data" migrate
"$bin" --data-dir "$data" import contracts/examples/*.yaml
"$bin" --data-dir "$data" user add --email fuzz@avtal.example --role admin >/dev/null
token="$("$bin" --data-dir "$data" token create --email fuzz@avtal.example --name schemathesis | grep -o 'avt_[A-Za-z0-9_-]*' | head -1)"
"$bin" --data-dir "$data" serve --bind "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.2
done
status=0
"$st" --config-file scripts/schemathesis.toml run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --checks all \
  --header "Authorization: Bearer $token" \
  --max-examples "${MAX_EXAMPLES:-30}" \
  --workers 2 \
  --seed 1 \
  --request-timeout 30 \
  "$@" || status=$?
if grep -q 'panicked' "$data/serve.log"; then
  echo "the server panicked:" >&2
  grep -A3 'panicked' "$data/serve.log" >&2
  status=1
fi
exit "$status"
