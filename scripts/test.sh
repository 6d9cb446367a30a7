#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, then every test on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export AVTAL_TOOLS="${AVTAL_TOOLS:-/opt/avtal-tools}"
export AVTAL_TYPST="${AVTAL_TYPST:-$AVTAL_TOOLS/typst-0.15.1/bin/typst}"
export AVTAL_OCDS_PYTHON="${AVTAL_OCDS_PYTHON:-$AVTAL_TOOLS/ocds-venv/bin/python}"

# Test databases of earlier runs (each test makes its own) are dropped first.
psql -h 127.0.0.1 -U postgres -d postgres -Atc \
  "SELECT 'DROP DATABASE IF EXISTS ' || datname || ';' FROM pg_database WHERE datname LIKE 'avtal_test_%'" \
  | psql -q -h 127.0.0.1 -U postgres -d postgres >/dev/null 2>&1 || true

scripts/module_graph.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked --no-fail-fast
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked
