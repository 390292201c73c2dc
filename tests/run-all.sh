#!/usr/bin/env bash
# Gridpad's whole test suite, from a fresh Debian machine: set-up, format and lint checks,
# then every test of the workspace. Expects ../shared (the GNSS captures) beside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
export CARGO_TERM_COLOR=never
# The console's browser test must run here, never skip (setup.sh installed chromium).
export GRIDPAD_REQUIRE_BROWSER=1

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked

# gridhub's own suite and its sync simulation again, on PostgreSQL (a throw-away cluster
# the tests start themselves, gridpad-testkit): one test story for both backends.
# Selected as workspace test targets (not `-p gridhub`), so the build above is reused as is.
echo "== gridhub's tests on PostgreSQL"
GRIDHUB_TEST_BACKEND=postgres cargo test --workspace --locked \
  --test centre --test console --test console_devices --test console_notices --test console_catalog --test exchange \
  --test seals_and_photos --test openapi --test sim --test instances --test deadlines --test handling

# ARM: the device binaries must keep building for aarch64 (cross/README.md). Installs the
# cross compiler and the rustup target itself; the qemu test run is cross/test-qemu.sh.
echo "== aarch64 cross build"
bash cross/build.sh aarch64
