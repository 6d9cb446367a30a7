#!/usr/bin/env bash
# Requests per second of `GET /health` without and with an API token on one `avtal serve`, with
# wrk (installed here when missing), on SQLite and on PostgreSQL. See BENCHMARKS.md.
#
#   scripts/bench_auth.sh                      # builds target/release/avtal first
#   AVTAL_BIN=/path/to/avtal scripts/bench_auth.sh   # another binary (e.g. the one before a change)
#
# Settings (environment): BENCH_DIR (default /opt/avtal-bench-speed/auth), BACKENDS ("sqlite
# postgres"), PG_DB (avtal_bench_speed_auth), CONNECTIONS (64), THREADS (2), DURATION (30s).
set -euo pipefail

dir=${BENCH_DIR:-/opt/avtal-bench-speed/auth}
backends=${BACKENDS:-"sqlite postgres"}
pg_db=${PG_DB:-avtal_bench_speed_auth}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
duration=${DURATION:-30s}

if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null
fi
if [ -z "${AVTAL_BIN:-}" ]; then
    cargo build --release --locked --bin avtal
    AVTAL_BIN="${CARGO_TARGET_DIR:-target}/release/avtal"
fi
bin=$AVTAL_BIN

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

for backend in $backends; do
    data="$dir/$backend"
    rm -rf "$data"
    mkdir -p "$data"
    unset DATABASE_URL
    if [ "$backend" = postgres ]; then
        psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pg_db" \
            -c "CREATE DATABASE $pg_db"
        export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pg_db"
    fi
    "$bin" --data-dir "$data" migrate >/dev/null
    echo 'ett långt lösenord för wrk' |
        "$bin" --data-dir "$data" user add --email wrk@bench.example --role auditor --password-stdin >/dev/null
    token=$("$bin" --data-dir "$data" token create --email wrk@bench.example --name wrk 2>/dev/null | tail -n 1)
    port=$(free_port)
    RUST_LOG=warn "$bin" --data-dir "$data" serve --bind "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port/api/v1/agreements?limit=1")
    [ "$status" = 200 ] || { echo "the token is refused ($status)"; kill "$pid"; exit 1; }
    echo "== $backend, $("$bin" --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for run in without with; do
        if [ "$run" = with ]; then
            header=(-H "Authorization: Bearer $token")
        else
            header=()
        fi
        out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "${header[@]}" \
            "http://127.0.0.1:$port/health")
        rps=$(grep 'Requests/sec' <<<"$out" | awk '{print $2}')
        p99=$(grep -E '^ +99%' <<<"$out" | awk '{print $2}')
        errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd';' || true)
        echo "$backend /health $run token: $rps req/s, p99 $p99 ${errors:+($errors)}"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    if [ "$backend" = postgres ]; then
        unset DATABASE_URL
        psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pg_db"
    fi
done
