#!/usr/bin/env bash
# The touch-screen kiosk's figures, measured on the real release binary
# drawing on a virtual X screen (Xvfb, 1920x1080, 24-bit, no window
# manager), with the 100 000-reader / 1 000 000-item demo library:
#
#   cold start   process start -> window mapped, and -> first frame drawn
#                (the attract screen's top bar is no longer blank), best
#                and median of RUNS starts (the database is warm in the
#                page cache after the first);
#   idle CPU     /proc/PID/stat utime+stime over IDLE seconds on the
#                attract screen, as a share of one core (all threads:
#                UI, device runner, simulated pad);
#   memory       VmRSS at the end of the idle period, and VmHWM (peak).
#
# Device event -> screen updated is `cargo bench --bench gui` (the same
# renderer without a window; see benches/gui.rs).
#
# Needs: xvfb xdotool imagemagick. Usage: scripts/gui-figures.sh
# Environment: RUNS (default 5), IDLE (seconds, default 60), PATRONS /
# ITEMS (default 100000 / 1000000), FIGURES_DB (where the demo library is
# kept between runs; default target/gui-figures-PATRONS-ITEMS.db).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
IDLE=${IDLE:-60}
PATRONS=${PATRONS:-100000}
ITEMS=${ITEMS:-1000000}
DB=${FIGURES_DB:-target/gui-figures-$PATRONS-$ITEMS.db}

cargo build --quiet --release --bin kiosk
BIN=target/release/kiosk
CONFIG=$PWD/kiosk.toml

if [ ! -s "$DB" ]; then
    echo "building the demo library ($PATRONS readers, $ITEMS items) in $DB ..."
    rm -f "$DB" "$DB-wal" "$DB-shm"
    "$BIN" --config "$CONFIG" --db "$DB" demo-data --patrons "$PATRONS" --items "$ITEMS" >/dev/null
fi

WORK=$(mktemp -d)
N=$((150 + RANDOM % 100))
while [ -e "/tmp/.X$N-lock" ] || [ -e "/tmp/.X11-unix/X$N" ]; do N=$((N + 1)); done
export DISPLAY=:$N
# -br: a black root window, so the first frame is easy to tell apart.
Xvfb "$DISPLAY" -screen 0 1920x1080x24 -br -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB=$!
KIOSK=
cleanup() {
    [ -n "$KIOSK" ] && kill "$KIOSK" 2>/dev/null || true
    kill "$XVFB" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
# The socket appears before the server answers: wait until it does.
for _ in $(seq 1 200); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.05; done

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# Colours in the top bar (library name, clock): 1 while nothing is drawn.
bar_colours() { import -window root -crop 1920x80+0+0 -format '%k' info: 2>/dev/null || echo 0; }

start_kiosk() {
    "$BIN" --config "$CONFIG" --db "$DB" --lang zh-CN run >"$WORK/run.log" 2>&1 &
    KIOSK=$!
}
stop_kiosk() {
    kill "$KIOSK" 2>/dev/null || true
    wait "$KIOSK" 2>/dev/null || true
    KIOSK=
}

MAPPED=()
DRAWN=()
for run in $(seq 1 "$RUNS"); do
    t0=$(now)
    start_kiosk
    mapped=
    drawn=
    for _ in $(seq 1 2000); do
        if [ -z "$mapped" ] && xdotool search --onlyvisible --name '^kiosk$' >/dev/null 2>&1; then
            mapped=$(now)
        fi
        if [ -n "$mapped" ] && [ "$(bar_colours)" -gt 1 ]; then
            drawn=$(now)
            break
        fi
        sleep 0.01
    done
    [ -n "$drawn" ] || { cat "$WORK/run.log"; echo "the kiosk never drew"; exit 1; }
    MAPPED+=("$(ms "$t0" "$mapped")")
    DRAWN+=("$(ms "$t0" "$drawn")")
    echo "start $run: window mapped after ${MAPPED[-1]} ms, first frame after ${DRAWN[-1]} ms"
    if [ "$run" -lt "$RUNS" ]; then stop_kiosk; fi
done

stat_of() { printf '%s\n' "${@}" | sort -n | awk '{ v[NR] = $1 } END { printf "best %d ms, median %d ms, worst %d ms", v[1], v[int((NR + 1) / 2)], v[NR] }'; }

# Idle: the last kiosk stays on its attract screen.
sleep 5
TCK=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$KIOSK/stat"; }
c0=$(cpu)
t0=$(now)
sleep "$IDLE"
c1=$(cpu)
t1=$(now)
idle=$(awk -v c="$((c1 - c0))" -v k="$TCK" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", 100 * c / k / (b - a) }')
rss=$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$KIOSK/status")
hwm=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$KIOSK/status")
threads=$(awk '/^Threads/ { print $2 }' "/proc/$KIOSK/status")
stop_kiosk

echo
echo "machine: $(nproc) cores, $(uname -m); $PATRONS readers / $ITEMS items; release build"
echo "cold start to window mapped:  $(stat_of "${MAPPED[@]}")  (goal <= 1500 ms)"
echo "cold start to attract drawn:  $(stat_of "${DRAWN[@]}")  (goal <= 1500 ms)"
echo "idle CPU over ${IDLE} s:        ${idle} % of one core, $threads threads  (goal <= 1 %)"
echo "memory after idling:          VmRSS ${rss} MB, peak VmHWM ${hwm} MB  (goal <= 150 MB)"
