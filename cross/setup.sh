#!/usr/bin/env bash
# Installs what cross-building Gridpad for an ARM target needs on an x86-64 Debian machine.
# Idempotent: installs only what is missing. Run as root or with sudo.
#
#   bash cross/setup.sh aarch64|armv7 [--gui] [--qemu]
#
#   (always)  the target's Debian cross gcc + libc, the rustup std for the target
#   --qemu    qemu-user (+ qemu-user-static and binfmt, so programs the tests start run too)
#   --gui     the :arm64 / :armhf -dev libraries for Slint's linuxkms backend (multiarch)
set -euo pipefail

usage() { echo "usage: $0 aarch64|armv7 [--gui] [--qemu]" >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in
  aarch64) TRIPLE=aarch64-unknown-linux-gnu; GNU=aarch64-linux-gnu; DEBARCH=arm64; QEMU=qemu-aarch64 ;;
  armv7)   TRIPLE=armv7-unknown-linux-gnueabihf; GNU=arm-linux-gnueabihf; DEBARCH=armhf; QEMU=qemu-arm ;;
  *) usage ;;
esac
shift
GUI=0; WANT_QEMU=0
for a in "$@"; do
  case "$a" in --gui) GUI=1 ;; --qemu) WANT_QEMU=1 ;; *) usage ;; esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

PACKAGES=("gcc-$GNU" "libc6-dev-$DEBARCH-cross" pkg-config perl make)
if [ $WANT_QEMU = 1 ]; then PACKAGES+=(qemu-user qemu-user-static binfmt-support); fi
if [ $GUI = 1 ]; then
  # Slint's linuxkms backend with libinput (see shared notes, embedded §1.2 / §3.4).
  if ! dpkg --print-foreign-architectures | grep -qx "$DEBARCH"; then
    echo "cross/setup: dpkg --add-architecture $DEBARCH"
    $SUDO dpkg --add-architecture "$DEBARCH"
  fi
  for lib in libinput-dev libudev-dev libxkbcommon-dev libgbm-dev libfontconfig1-dev libdrm-dev; do
    PACKAGES+=("$lib:$DEBARCH")
  done
fi

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cross/setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ $WANT_QEMU = 1 ] && [ -d /proc/sys/fs/binfmt_misc ]; then
  # binfmt lets the test binary exec other target binaries (the CLI tests start `gridpad`).
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  fi
  if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e "/proc/sys/fs/binfmt_misc/$QEMU" ]; then
    $SUDO update-binfmts --enable "$QEMU" 2>/dev/null || $SUDO update-binfmts --import 2>/dev/null || true
  fi
  [ -e "/proc/sys/fs/binfmt_misc/$QEMU" ] \
    || echo "cross/setup: warning: no binfmt handler for $QEMU; tests that start target programs will fail" >&2
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx "$TRIPLE"; then
    echo "cross/setup: rustup target add $TRIPLE"
    rustup target add "$TRIPLE"
  fi
else
  # A toolchain without rustup (e.g. Debian's rustc) needs the target's std another way.
  rustc --print target-libdir --target "$TRIPLE" >/dev/null 2>&1 && [ -d "$(rustc --print target-libdir --target "$TRIPLE")" ] \
    || { echo "cross/setup: no rustup and no std for $TRIPLE" >&2; exit 1; }
fi
echo "cross/setup: $TRIPLE ready ($(${GNU}-gcc --version | head -1))"
