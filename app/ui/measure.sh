#!/usr/bin/env bash
# Release vs dev measurements of the terminal app on a large town (issue 6):
# start → first frame, RSS, scrolling frame times (full and partial repaint), jumps.
#
#   bash app/ui/measure.sh [RUNS]        # default 3 runs of each build, back to back
#
# Environment: CARGO_TARGET_DIR (default ./target), TOWN (default /tmp/gridpad-town-100k),
# PERSONS (default 100000), PIN (default 246810), OUT (default /tmp/gridpad-measure),
# SKIP_BUILD=1 to use the binaries already built. The town is made once with the release
# binary (about 2 min for 100,000 residents) and kept; delete it afterwards
# (`rm -rf "$TOWN"`). Each run is `/usr/bin/time -v gridpad-ui measure`, with the load
# average noted before it; release and dev runs alternate so both see the same machine.
set -euo pipefail

RUNS="${1:-3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TOWN="${TOWN:-/tmp/gridpad-town-100k}"
PERSONS="${PERSONS:-100000}"
PIN="${PIN:-246810}"
OUT="${OUT:-/tmp/gridpad-measure}"

if [ ! -x /usr/bin/time ]; then
  echo "measure: /usr/bin/time missing; installing the Debian package time" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q time
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --locked -p gridpad-ui && cargo build --locked -p gridpad-ui)
fi
REL="$TARGET/release/gridpad-ui"
DEV="$TARGET/debug/gridpad-ui"

if [ ! -e "$TOWN/gridpad.db" ]; then
  mkdir -p "$TOWN"
  "$REL" measure --data-dir "$TOWN" --pin "$PIN" --make-town "$PERSONS"
fi

mkdir -p "$OUT"
rm -f "$OUT"/run-*.txt
for i in $(seq 1 "$RUNS"); do
  for profile in release dev; do
    bin="$REL"; [ "$profile" = dev ] && bin="$DEV"
    f="$OUT/run-$i-$profile.txt"
    { echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
      /usr/bin/time -v "$bin" measure --data-dir "$TOWN" --pin "$PIN" 2>&1
    } >"$f"
    echo "run $i $profile: $(head -1 "$f")"
  done
done

python3 - "$OUT" "$RUNS" <<'EOF'
import re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
rows = [
    ("load average (1 min) before the run", r"^load: ([\d.]+)", 1),
    ("process start → first frame, ms", r"process start → first frame\s+([\d.]+)", 1),
    ("main → first frame (login), ms", r"main → first frame \(login\)\s+([\d.]+)", 1),
    ("RSS at first frame, MB", r"RSS at first frame\s+([\d.]+)", 1),
    ("unlock (PIN key derivation), ms", r"unlock \(PIN key derivation\)\s+([\d.]+)", 1),
    ("home frame, ms", r"home frame\s+([\d.]+)", 1),
    ("resident list first frame, ms", r"resident list first frame\s+([\d.]+)", 1),
    ("scroll full cold: median ms", r"full repaint, cold: median ([\d.]+)", 1),
    ("scroll full cold: p95 ms", r"full repaint, cold: median [\d.]+ ms, p95 ([\d.]+)", 1),
    ("scroll full cold: max ms", r"full repaint, cold: .*max ([\d.]+)", 1),
    ("scroll full warm: median ms", r"full repaint, warm: median ([\d.]+)", 1),
    ("scroll full warm: p95 ms", r"full repaint, warm: median [\d.]+ ms, p95 ([\d.]+)", 1),
    ("scroll full warm: max ms", r"full repaint, warm: .*max ([\d.]+)", 1),
    ("scroll partial: median ms", r"partial repaint\s*: median ([\d.]+)", 1),
    ("scroll partial: p95 ms", r"partial repaint\s*: median [\d.]+ ms, p95 ([\d.]+)", 1),
    ("scroll partial: max ms", r"partial repaint\s*: .*max ([\d.]+)", 1),
    ("scroll partial: % of window repainted", r"partial repaint\s*: .*; ([\d.]+) % of the window", 1),
    ("partial / full warm (median)", r"partial / full \(warm\) median: ([\d.]+)", 1),
    ("jumps 25/50/75/100 %: slowest, ms", r"jumps to 25/50/75/100 %: (.*) \(", "max"),
    ("pages read in all", r"pages read from SQLite in all: (\d+)", 1),
    ("peak RSS (time -v), MB", r"Maximum resident set size \(kbytes\): (\d+)", 1 / 1024),
    ("involuntary context switches (time -v)", r"Involuntary context switches: (\d+)", 1),
    ("wall time of the run, s", r"Elapsed \(wall clock\) time.*: ([\d:.]+)", "clock"),
]
def val(text, rx, how):
    m = re.search(rx, text, re.M)
    if not m:
        return None
    s = m.group(1)
    if how == "max":
        return max(float(x) for x in re.findall(r"([\d.]+) ms", s))
    if how == "clock":
        parts = [float(p) for p in s.split(":")]
        return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return float(s) * how
texts = {p: [open(f"{out}/run-{i}-{p}.txt").read() for i in range(1, runs + 1)] for p in ("release", "dev")}
for p, ts in texts.items():
    for i, t in enumerate(ts, 1):
        if "picture: yes" not in t:
            print(f"WARNING: run {i} {p}: partial repaint picture check did not pass")
print(f"medians of {runs} runs each [min–max]; per-run output in {out}/")
print("| | release | dev | release / dev |")
print("|---|---|---|---|")
for name, rx, how in rows:
    cells, meds = [], []
    for p in ("release", "dev"):
        vs = [v for v in (val(t, rx, how) for t in texts[p]) if v is not None]
        if not vs:
            cells.append("—")
            continue
        med = statistics.median(vs)
        meds.append(med)
        cells.append(f"{med:.2f} [{min(vs):.2f}–{max(vs):.2f}]")
    r = f"{meds[0] / meds[1]:.2f}" if len(meds) == 2 and meds[1] else "—"
    print(f"| {name} | {cells[0]} | {cells[1]} | {r} |")
EOF
