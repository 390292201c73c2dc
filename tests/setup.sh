#!/usr/bin/env bash
# Installs what building and testing Gridpad needs on a fresh Debian machine (as root,
# or with sudo). Idempotent; called by tests/run-all.sh and tests/demo.sh.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential pkg-config perl make ca-certificates  # C parts: SQLCipher, vendored OpenSSL, ring
  util-linux                                            # mount (full-disk test on a small tmpfs), setpriv
  postgresql                                            # gridhub's city backend: tests start a throw-away cluster
  fdisk e2fsprogs                                       # gridctl provision into a disk image (sfdisk, debugfs, mkfs.ext4)
  libfontconfig1-dev libxkbcommon-dev                   # Slint (gridpad-ui): fontconfig at build time, keyboard maps
  chromium chromium-driver fonts-noto-cjk               # the console's browser test; fonts-noto-cjk: the photo stamp's font (app/photo/tests/font.rs)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: no Rust toolchain found; install rustup (https://rustup.rs) and rerun" >&2
    exit 1
  fi
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
fi
echo "setup: $(cargo --version)"
