#!/usr/bin/env bash
# The SIGKILL campaign (issue 13 §8): the kiosk's `hammer` (checkouts and
# returns as fast as it can commit, each committed entry id printed) is
# SIGKILLed at a random moment, CYCLES times; after each kill the database
# must pass integrity_check and hold every acknowledged entry exactly
# once, gap-free, with no item lent twice. tests/crash.rs runs 25 cycles
# in the test suite; this runs as many as you ask, in release mode.
#
#   scripts/kill-campaign.sh [CYCLES]     (default 1000)
#
# Prints: cycles, kills that landed mid-run, entries acknowledged, lost
# (always 0, or the run fails), duplicated (always 0, or it fails).
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES="${1:-1000}"
KIOSK_CRASH_CYCLES="$CYCLES" cargo test --release --test crash -- --nocapture 2>&1 \
  | tee /dev/stderr | grep '^kill campaign:'
