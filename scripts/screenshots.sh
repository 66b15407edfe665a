#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: every screen of the touch-screen
# kiosk in English and Chinese, drawn by the real binary on a virtual X
# server (Xvfb) and captured with ImageMagick's `import`.
#
# Needs: xvfb, xdotool, imagemagick (Debian: apt-get install -y xvfb
# xdotool imagemagick). Each shot runs a kiosk built with the dev-only
# feature `stager` on a scratch demo database with KIOSK_UI_SCREEN set,
# which puts it on that screen with demo loans staged on a throwaway copy
# of that database; nothing touches your own database, and a release
# build ignores KIOSK_UI_SCREEN.
#
# Usage: scripts/screenshots.sh [screen ...]   (default: all of them;
# add -hc to a screen's name for the high-contrast theme, e.g. borrow-hc).
# staff-export is the staff menu after an export onto a USB stick;
# db-damaged the idle screen of a kiosk whose database failed its check.
# staff-online and staff-offline show the staff menu's sync panel with a
# central system: a real kiosk-central on loopback (empty), and one that
# is not there.
set -euo pipefail
cd "$(dirname "$0")/.."

SCREENS=("$@")
if [ ${#SCREENS[@]} -eq 0 ]; then
    SCREENS=(attract offline pin pin-staff-locked borrow return account holds receipt receipt-printing receipt-email
        feedback warning staff staff-export staff-online staff-offline out-of-service db-damaged
        borrow-hc account-hc)
fi
OUT=docs/screenshots
DISPLAY_NUM=${SCREENSHOT_DISPLAY:-:97}
SIZE=${SCREENSHOT_SIZE:-1920x1080}
WAIT=${SCREENSHOT_WAIT:-4}

cargo build --quiet --features stager --bin kiosk --bin kiosk-central
BIN=target/debug/kiosk
CENTRAL_BIN=target/debug/kiosk-central
mkdir -p "$OUT"
WORK=$(mktemp -d)
Xvfb "$DISPLAY_NUM" -screen 0 "${SIZE}x24" -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB=$!
CENTRAL=""
cleanup() {
    kill "$XVFB" 2>/dev/null || true
    if [ -n "$CENTRAL" ]; then kill "$CENTRAL" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
sleep 1

# A kiosk-central for the staff-online shots, started on first use.
CENTRAL_URL=""
CENTRAL_TOKEN=""
central() {
    [ -n "$CENTRAL_URL" ] && return
    CENTRAL_TOKEN=$("$CENTRAL_BIN" --db "$WORK/central.db" token create --kiosk kiosk-1)
    "$CENTRAL_BIN" --db "$WORK/central.db" serve --listen 127.0.0.1:0 >"$WORK/central.out" 2>"$WORK/central.log" &
    CENTRAL=$!
    for _ in $(seq 1 100); do
        CENTRAL_URL=$(sed -n 's/^kiosk-central listening on //p' "$WORK/central.out")
        [ -n "$CENTRAL_URL" ] && break
        sleep 0.1
    done
    [ -n "$CENTRAL_URL" ] || { echo "kiosk-central did not start" >&2; exit 1; }
}

shot() { # shot NAME LANG SCREEN [VAR=VALUE ...]
    local name=$1 lang=$2 screen=$3
    shift 3
    local file="$OUT/$name-$lang.png"
    rm -f "$WORK"/shot.db*
    env DISPLAY="$DISPLAY_NUM" KIOSK_WINDOW="$SIZE" KIOSK_UI_SCREEN="$screen" \
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
    sleep "${SHOT_WAIT:-$WAIT}"
    DISPLAY="$DISPLAY_NUM" import -window root "$file"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$file"
}

for s in "${SCREENS[@]}"; do
    for lang in en zh-CN; do
        case $s in
        # SCREEN-hc: that screen in the high-contrast theme.
        *-hc) shot "$s" "$lang" "${s%-hc}" KIOSK__KIOSK__HIGH_CONTRAST=true ;;
        staff-online)
            central
            shot "$s" "$lang" staff-sync KIOSK__UPSTREAM__KIND=http \
                KIOSK__UPSTREAM__URL="$CENTRAL_URL" KIOSK__UPSTREAM__TOKEN="$CENTRAL_TOKEN"
            ;;
        staff-offline)
            # Nothing listens on port 9: the first sync fails (after its
            # retries), offline.
            SHOT_WAIT=$((WAIT + 10)) shot "$s" "$lang" staff-sync KIOSK__UPSTREAM__KIND=http \
                KIOSK__UPSTREAM__URL=http://127.0.0.1:9 KIOSK__UPSTREAM__TOKEN=none \
                KIOSK__UPSTREAM__TIMEOUT_SECS=1
            ;;
        staff-export)
            # The staff menu after an export onto the "USB stick" (a
            # folder standing in for its mount point).
            mkdir -p "$WORK/media/KIOSK-USB"
            shot "$s" "$lang" staff-export KIOSK__STAFF__EXPORT_DIR="$WORK/media/KIOSK-USB"
            ;;
        receipt-email)
            # E-mail offered ([receipt] email); nothing is sent for a shot.
            shot "$s" "$lang" receipt KIOSK__RECEIPT__EMAIL=true \
                KIOSK__RECEIPT__SMTP_URL=smtp://127.0.0.1:9 KIOSK__RECEIPT__FROM=kiosk@library.example
            ;;
        *) shot "$s" "$lang" "$s" ;;
        esac
    done
done
