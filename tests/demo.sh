#!/usr/bin/env bash
# The Gridpad demo, from a fresh Debian machine: builds the terminal, creates an encrypted
# device store with a generated grid (1,500 residents), and walks a grid worker's day on
# the command line. Data goes to $GRIDPAD_DATA_DIR (default: a new temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo build --release --locked -p gridpad
gp="${CARGO_TARGET_DIR:-target}/release/gridpad"

export GRIDPAD_DATA_DIR=${GRIDPAD_DATA_DIR:-$(mktemp -d /tmp/gridpad-demo.XXXXXX)}
export GRIDPAD_PIN=${GRIDPAD_PIN:-246810}
step() { printf '\n\033[1m$ gridpad %s\033[0m\n' "$*"; "$gp" "$@"; }

echo "Demo data directory: $GRIDPAD_DATA_DIR (PIN $GRIDPAD_PIN)"
[ -f "$GRIDPAD_DATA_DIR/key.json" ] || step init
status_json=$("$gp" status --json)
case "$status_json" in *'"persons": 0,'*) step demo-data --persons 1500 --seed 1 ;; esac
step status
step search 张 --limit 5
step search 喆
step search 幸福 --kind houses --limit 3
step catalog
step report --category 0201 --description "3栋2单元楼道堆放纸箱，堵塞消防通道" \
     --field blocked_by=杂物 --lat 29.9493 --lon 121.7131 --accuracy 12
step events
step outbox
echo
echo "Everything above is stored encrypted in $GRIDPAD_DATA_DIR; try: GRIDPAD_PIN=000000 $gp status"
