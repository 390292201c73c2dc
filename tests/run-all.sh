#!/usr/bin/env bash
# Gridpad's whole test suite, from a fresh Debian machine: set-up, format and lint checks,
# then every test of the workspace. Expects ../shared (the GNSS captures) beside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
