#!/usr/bin/env bash
# Intake benchmark against ImageMagick (not part of CI). Installs Debian's ImageMagick when
# /usr/bin/convert is not ImageMagick, then runs the benchmark in release mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! /usr/bin/convert -version 2>/dev/null | grep -q ImageMagick; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends imagemagick
fi
cargo bench -p gridpad-photo --bench intake
