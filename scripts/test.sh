#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, then every test on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export AVTAL_TOOLS="${AVTAL_TOOLS:-/opt/avtal-tools}"
export AVTAL_TYPST="${AVTAL_TYPST:-$AVTAL_TOOLS/typst-0.15.1/bin/typst}"
export AVTAL_OCDS_PYTHON="${AVTAL_OCDS_PYTHON:-$AVTAL_TOOLS/ocds-venv/bin/python}"

# Each test makes its own PostgreSQL database; the test harness drops those of runs that have
# exited (tests/api/helpers.rs), so runs side by side keep theirs.

scripts/module_graph.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked --no-fail-fast
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked
