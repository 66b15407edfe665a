#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: every screen of the touch-screen
# kiosk in English and Chinese, drawn by the real binary on a virtual X
# server (Xvfb) and captured with ImageMagick's `import`.
#
# Needs: xvfb, xdotool, imagemagick (Debian: apt-get install -y xvfb
# xdotool imagemagick). Each shot runs the kiosk on a scratch demo
# database with KIOSK_UI_SCREEN set, which puts it on that screen with
# demo loans; nothing touches your own database.
#
# Usage: scripts/screenshots.sh [screen ...]   (default: all of them;
# add -hc to a screen's name for the high-contrast theme, e.g. borrow-hc)
set -euo pipefail
cd "$(dirname "$0")/.."

SCREENS=("$@")
if [ ${#SCREENS[@]} -eq 0 ]; then
    SCREENS=(attract offline pin borrow return account holds receipt feedback warning staff out-of-service
        borrow-hc account-hc)
fi
OUT=docs/screenshots
DISPLAY_NUM=${SCREENSHOT_DISPLAY:-:97}
SIZE=${SCREENSHOT_SIZE:-1920x1080}
WAIT=${SCREENSHOT_WAIT:-4}

cargo build --quiet --bin kiosk
BIN=target/debug/kiosk
mkdir -p "$OUT"
WORK=$(mktemp -d)
Xvfb "$DISPLAY_NUM" -screen 0 "${SIZE}x24" -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB=$!
cleanup() {
    kill "$XVFB" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
sleep 1

shot() { # shot NAME LANG [VAR=VALUE ...]
    local name=$1 lang=$2
    shift 2
    local file="$OUT/$name-$lang.png"
    rm -f "$WORK"/shot.db*
    env DISPLAY="$DISPLAY_NUM" KIOSK_WINDOW="$SIZE" KIOSK_UI_SCREEN="${name%-hc}" \
        RUST_LOG=warn "$@" \
        "$BIN" --db "$WORK/shot.db" --lang "$lang" run >"$WORK/run.log" 2>&1 &
    local pid=$!
    # Wait for the window, then for it to draw.
    for _ in $(seq 1 50); do
        if DISPLAY="$DISPLAY_NUM" xdotool search --name '^kiosk$' >/dev/null 2>&1; then
            break
        fi
        sleep 0.2
    done
    sleep "$WAIT"
    DISPLAY="$DISPLAY_NUM" import -window root "$file"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$file"
}

for s in "${SCREENS[@]}"; do
    for lang in en zh-CN; do
        case $s in
        # SCREEN-hc: that screen in the high-contrast theme.
        *-hc) shot "$s" "$lang" KIOSK__KIOSK__HIGH_CONTRAST=true ;;
        *) shot "$s" "$lang" ;;
        esac
    done
done
