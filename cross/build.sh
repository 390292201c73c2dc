#!/usr/bin/env bash
# Builds Gridpad's device binaries for an ARM target, installing what is missing first.
#
#   bash cross/build.sh aarch64|armv7 [--release] [extra cargo args…]
#
# Output: $CARGO_TARGET_DIR (default ./target)/<triple>/{debug,release}/gridpad
# Default packages: gridpad (the device CLI) and the device update agent. When app/ui (the
# Slint GUI) exists, `bash cross/build.sh aarch64 --gui -p gridpad-ui --features device`
# installs the linuxkms -dev libraries for the target and builds it.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 aarch64|armv7 [--release] [--gui] [cargo args…]" >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in
  aarch64) TRIPLE=aarch64-unknown-linux-gnu ;;
  armv7)   TRIPLE=armv7-unknown-linux-gnueabihf ;;
  *) usage ;;
esac
ARCH=$1; shift
SETUP_ARGS=(); CARGO_ARGS=(); PROFILE=debug; PKGS_GIVEN=0
for a in "$@"; do
  case "$a" in
    --gui) SETUP_ARGS+=(--gui) ;;
    --release) CARGO_ARGS+=(--release); PROFILE=release ;;
    -p|--package|-p*|--package=*) CARGO_ARGS+=("$a"); PKGS_GIVEN=1 ;;
    *) CARGO_ARGS+=("$a") ;;
  esac
done
if [ $PKGS_GIVEN = 0 ]; then
  CARGO_ARGS+=(-p gridpad)
  if [ -d packaging/update ]; then CARGO_ARGS+=(-p gridpad-update); fi
fi

bash cross/setup.sh "$ARCH" "${SETUP_ARGS[@]}"
if ! command -v cargo >/dev/null 2>&1; then export PATH="$HOME/.cargo/bin:$PATH"; fi

start=$(date +%s)
cargo build --locked --config cross/cargo-config.toml --target "$TRIPLE" "${CARGO_ARGS[@]}"
out="${CARGO_TARGET_DIR:-target}/$TRIPLE/$PROFILE"
echo "cross/build: $TRIPLE $PROFILE in $(( $(date +%s) - start )) s"
for b in gridpad gridpad-update gridpad-ui; do
  [ -x "$out/$b" ] && echo "  $out/$b  $(stat -c %s "$out/$b") bytes  $(file -b "$out/$b" | cut -d, -f1-2)"
done
exit 0
