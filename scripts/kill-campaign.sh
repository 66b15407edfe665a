#!/usr/bin/env bash
# The SIGKILL campaigns (issue 13 §8), in release mode at nice 10.
#
#   scripts/kill-campaign.sh [CYCLES]          (default 1000)
#
# The kiosk's `hammer` (a storm of checkouts and returns, each committed
# entry id printed) is SIGKILLed at a random moment, CYCLES times; after
# each kill the database must pass integrity_check and hold every
# acknowledged entry exactly once, gap-free, with no item lent twice
# (tests/crash.rs, 25 cycles in the test suite). Prints: cycles, kills that
# landed mid-run and mid-storm, entries acknowledged, lost (always 0, or
# the run fails), duplicated (always 0, or it fails).
#
#   scripts/kill-campaign.sh --sync [CYCLES]   (default 300)
#
# The `kiosk sync` daemon, draining a backlog of offline entries to a real
# kiosk-central on loopback, is SIGKILLed at a random moment mid-drain
# CYCLES times (and the server too, one cycle in four); at the end every
# entry is on the server exactly once, seqs without a gap, the journal all
# acknowledged (tests/sync_kill.rs, 10 cycles in the test suite). Prints:
# cycles, daemon kills mid-drain, server kills, entries, lost, duplicated.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sync" ]; then
  CYCLES="${2:-300}"
  KIOSK_SYNC_KILL_CYCLES="$CYCLES" nice -n 10 cargo test --release --test sync_kill -- --nocapture 2>&1 \
    | tee /dev/stderr | grep '^sync kill campaign:'
else
  CYCLES="${1:-1000}"
  KIOSK_CRASH_CYCLES="$CYCLES" nice -n 10 cargo test --release --test crash -- --nocapture 2>&1 \
    | tee /dev/stderr | grep '^kill campaign:'
fi
