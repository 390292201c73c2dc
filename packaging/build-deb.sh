#!/usr/bin/env bash
# Builds Gridpad's Debian packages with cargo-deb.
#
#   bash packaging/build-deb.sh arm64|armhf|amd64 [--package gridpad|gridhub] [--lintian]
#
# gridpad (device): release build of gridpad + gridpad-update and of gridpad-ui with the
# `device` features (cross-built for arm64/armhf through cross/build.sh), then `cargo deb -p gridpad-update --no-build` (the metadata lives in
# packaging/update/Cargo.toml). gridhub: needs the [package.metadata.deb] table of
# packaging/debian/gridhub/deb-metadata.toml in sync/hub/Cargo.toml (packaging/README.md).
# Output: packaging/out/<name>_<version>-1_<arch>.deb
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 arm64|armhf|amd64 [--package gridpad|gridhub] [--lintian]" >&2; exit 2; }
[ $# -ge 1 ] || usage
ARCH=$1; shift
PACKAGE=gridpad; LINTIAN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --package) PACKAGE=${2:?}; shift 2 ;;
    --lintian) LINTIAN=1; shift ;;
    *) usage ;;
  esac
done
case "$ARCH" in
  arm64) CROSS=aarch64; TRIPLE=aarch64-unknown-linux-gnu ;;
  armhf) CROSS=armv7; TRIPLE=armv7-unknown-linux-gnueabihf ;;
  amd64) CROSS=""; TRIPLE=x86_64-unknown-linux-gnu ;;
  *) usage ;;
esac
case "$PACKAGE" in
  gridpad) CRATES=(-p gridpad -p gridpad-update); DEB_CRATE=gridpad-update ;;
  gridhub)
    CRATES=(-p gridhub); DEB_CRATE=gridhub
    grep -q '^\[package.metadata.deb\]' sync/hub/Cargo.toml 2>/dev/null || {
      echo "build-deb: sync/hub/Cargo.toml has no [package.metadata.deb] yet; append packaging/debian/gridhub/deb-metadata.toml to it" >&2
      exit 1; } ;;
  *) usage ;;
esac
if ! command -v cargo >/dev/null 2>&1; then export PATH="$HOME/.cargo/bin:$PATH"; fi
if ! cargo deb --version >/dev/null 2>&1; then
  echo "build-deb: installing cargo-deb from crates.io"
  cargo install cargo-deb --locked --version '^3'
fi

# Symbols are stripped by the linker (works the same for cross builds); cargo-deb must not
# run the host's strip on ARM binaries.
export CARGO_PROFILE_RELEASE_STRIP=symbols
start=$(date +%s)
if [ -n "$CROSS" ]; then
  bash cross/build.sh "$CROSS" --release "${CRATES[@]}"
else
  cargo build --locked --release "${CRATES[@]}"
fi
if [ "$PACKAGE" = gridpad ]; then
  # The GUI, with the handheld's backend (linuxkms + libinput, no X11/Wayland): a separate
  # cargo run because its features (no default "desktop") apply to it alone.
  GUI=(-p gridpad-ui --no-default-features --features device)
  if [ -n "$CROSS" ]; then
    bash cross/build.sh "$CROSS" --release --gui "${GUI[@]}"
  else
    for lib in libinput-dev libudev-dev libxkbcommon-dev libgbm-dev libfontconfig1-dev libdrm-dev; do
      dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "install ok installed" \
        || apt-get install -y -q --no-install-recommends "$lib"
    done
    cargo build --locked --release "${GUI[@]}"
  fi
fi
mkdir -p packaging/out
# A native (amd64) build is in target/release, not target/<triple>/release.
TARGET_ARGS=(); if [ -n "$CROSS" ]; then TARGET_ARGS=(--target "$TRIPLE"); fi
cargo deb -p "$DEB_CRATE" --no-build --no-strip "${TARGET_ARGS[@]}" --output packaging/out/
deb=$(ls -t packaging/out/${PACKAGE}_*_"$ARCH".deb | head -1)
echo "build-deb: $deb ($(stat -c %s "$deb") bytes) in $(( $(date +%s) - start )) s"
if [ $LINTIAN = 1 ]; then
  command -v lintian >/dev/null || { apt-get install -y -q --no-install-recommends lintian; }
  lintian --info "$deb" || true
fi
