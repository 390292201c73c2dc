#!/usr/bin/env bash
# The Gridpad demo, from a fresh Debian machine: builds the terminal and the hub, seeds
# the hub with a generated town, enrolls a device, and walks the closed loop — a worker
# reports an event offline, syncs, the centre accepts and dispatches it back as a task,
# the worker completes it, the centre closes it, the device shows it closed.
# It ends by opening the terminal app (gridpad-ui) on the device's data against the
# still-running hub: in a window when $DISPLAY is set, otherwise under Xvfb with a
# screenshot. Data goes to $GRIDPAD_DEMO_DIR (default: a new temporary directory). The
# centre's console is served by the same hub: the script prints its address and a demo
# dispatcher's login.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo build --release --locked -p gridpad -p gridhub
bin="${CARGO_TARGET_DIR:-target}/release"

demo=${GRIDPAD_DEMO_DIR:-$(mktemp -d /tmp/gridpad-demo.XXXXXX)}
export GRIDPAD_DATA_DIR="$demo/device" GRIDPAD_PIN=${GRIDPAD_PIN:-246810}
hubdir="$demo/hub"
gp() { printf '\n\033[1m$ gridpad %s\033[0m\n' "$*"; "$bin/gridpad" "$@"; }
hub() { printf '\n\033[1m$ gridhub admin %s\033[0m\n' "$*"; "$bin/gridhub" --data-dir "$hubdir" admin "$@"; }
json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" | head -1; }

echo "Demo directory: $demo (device PIN $GRIDPAD_PIN)"
rm -rf "$hubdir" "$GRIDPAD_DATA_DIR"
grid=$("$bin/gridhub" --data-dir "$hubdir" admin seed-demo --persons 1500 --seed 1 --json | json_field home_grid_code)
code=$("$bin/gridhub" --data-dir "$hubdir" admin issue-code --user 张网格员 --grid "$grid" --label 演示终端 --json | json_field code)
echo "Hub seeded with a town; grid $grid; enrollment code $code"
# A dispatcher of the town's street (招宝山街道, 330211001) for the console.
console_user=diaodu console_password=${GRIDPAD_DEMO_CONSOLE_PASSWORD:-Zhenhai-2026-demo}
GRIDHUB_PASSWORD="$console_password" "$bin/gridhub" --data-dir "$hubdir" admin account create \
  --username "$console_user" --role dispatcher --node 330211001 --display-name 演示调度员 --password >/dev/null

"$bin/gridhub" --data-dir "$hubdir" serve --listen 127.0.0.1:0 2> "$demo/hub.log" &
hub_pid=$!
trap 'kill $hub_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q 'http://' "$demo/hub.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$demo/hub.log" | head -1)
echo "gridhub serving on $url"

gp init
gp enroll --hub "$url" --code "$code"
gp sync --once
gp status
gp search 张 --limit 5
gp search 喆

echo; echo "— no signal: the hub goes away, the worker reports anyway —"
kill $hub_pid; wait $hub_pid 2>/dev/null || true
event=$(gp report --category 0201 --description "3栋2单元楼道堆放纸箱，堵塞消防通道" \
     --field blocked_by=杂物 --lat 29.9493 --lon 121.7131 --accuracy 12 --json | json_field id)
gp outbox
gp sync --once || echo "(no hub: the report waits)"

echo; echo "— signal again —"
port=${url##*:}
"$bin/gridhub" --data-dir "$hubdir" serve --listen "127.0.0.1:$port" 2>> "$demo/hub.log" &
hub_pid=$!
for _ in $(seq 50); do "$bin/gridpad" status >/dev/null 2>&1 && break; sleep 0.1; done
sleep 0.5
gp sync --once
hub events
hub transition "$event" --status accepted --note 立案
task=$(hub dispatch "$event" --json | json_field task_id)
gp sync --once
gp tasks
gp task "$task" accept
gp task "$task" complete --note "纸箱已清理，通道畅通"
gp sync --once
hub transition "$event" --status verified
hub transition "$event" --status closed --note 结案
gp sync --once
gp event "$event"
hub devices
echo
echo "Device data (encrypted) in $GRIDPAD_DATA_DIR; hub database in $hubdir."

echo
printf '\033[1mThe command-centre console: %s/  (sign in as %s / %s)\033[0m\n' "$url" "$console_user" "$console_password"

echo; echo "— the terminal app on this device's data, syncing with the same hub —"
if [ -z "${DISPLAY:-}" ] && ! command -v xvfb-run >/dev/null 2>&1; then
  echo "demo: installing xvfb (no display)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    xvfb xauth libxcursor1 libxkbcommon-x11-0 libxi6 libxrandr2
fi
cargo build --release --locked -p gridpad-ui
# Position from a real receiver capture, replayed (when shared/ is beside the clone).
nmea="$(cd .. && pwd)/shared/data/nmea/quectel-l76k-nmea.log"
gnss=none; [ -f "$nmea" ] && gnss="replay:$nmea"
# No camera on a desktop: generated test pictures go through the real photo pipeline.
ui=("$bin/gridpad-ui" --data-dir "$GRIDPAD_DATA_DIR" --gnss "$gnss" --camera pattern)
printf '\n\033[1mPIN for the login screen: %s\033[0m\n' "$GRIDPAD_PIN"
if [ -n "${DISPLAY:-}" ]; then
  echo "\$ ${ui[*]}   (close the window to end the demo)"
  "${ui[@]}"
else
  shot="$demo/gridpad-ui-login.png"
  echo "\$ xvfb-run ${ui[*]} --screenshot $shot   (no display: 15 s under Xvfb)"
  timeout 15 xvfb-run -a -s "-screen 0 480x800x24" "${ui[@]}" --screenshot "$shot" || true
  if [ -f "$shot" ]; then echo "Screenshot of the app: $shot"; else echo "demo: no screenshot was written" >&2; exit 1; fi
fi
