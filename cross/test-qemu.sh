#!/usr/bin/env bash
# Runs Gridpad's non-GUI test suites cross-compiled for aarch64 (or armv7) under qemu-user.
#
#   bash cross/test-qemu.sh [aarch64|armv7] [extra cargo test args…]
#
# Suites: gridpad-proto, gridpad-core, gridpad-gnss, gridpad (CLI, crash and full-disk tests),
# gridpad-update and gridctl. Test binaries run through the runner in cross/cargo-config.toml
# (qemu-aarch64 -L /usr/aarch64-linux-gnu); programs the tests start themselves (the gridpad
# binary in the CLI tests) run through binfmt_misc, which cross/setup.sh --qemu registers,
# with QEMU_LD_PREFIX pointing qemu at the target's libraries.
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH=${1:-aarch64}
case "$ARCH" in
  aarch64) TRIPLE=aarch64-unknown-linux-gnu; SYSROOT=/usr/aarch64-linux-gnu ;;
  armv7)   TRIPLE=armv7-unknown-linux-gnueabihf; SYSROOT=/usr/arm-linux-gnueabihf ;;
  *) echo "usage: $0 [aarch64|armv7] [cargo test args…]" >&2; exit 2 ;;
esac
[ $# -gt 0 ] && shift

bash cross/setup.sh "$ARCH" --qemu
if ! command -v cargo >/dev/null 2>&1; then export PATH="$HOME/.cargo/bin:$PATH"; fi
export QEMU_LD_PREFIX=$SYSROOT

PKGS=()
for p in gridpad-proto gridpad-core gridpad-gnss gridpad gridpad-update gridctl; do
  if cargo metadata --no-deps --format-version 1 2>/dev/null | grep -q "\"name\":\"$p\""; then
    PKGS+=(-p "$p")
  fi
done

start=$(date +%s)
cargo test --locked --config cross/cargo-config.toml --target "$TRIPLE" "${PKGS[@]}" "$@"
echo "cross/test-qemu: $TRIPLE tests passed under qemu in $(( $(date +%s) - start )) s"
