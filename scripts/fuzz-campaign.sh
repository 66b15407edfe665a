#!/usr/bin/env bash
# Build every cargo-fuzz target in fuzz/ and run them ONE AT A TIME (the
# machine is shared): each for SECONDS (default 600) at nice 19 with one
# process, its corpus in fuzz/corpus/TARGET seeded from fuzz/seeds/TARGET,
# its log in fuzz-logs/TARGET.log. Prints one line per target:
#   fuzz TARGET: runs=N crash=no|yes (log)
# and exits non-zero if any target crashed (the reproducer is in
# fuzz/artifacts/TARGET/).
#
#   scripts/fuzz-campaign.sh [SECONDS] [TARGET...]   (default: 600, all)
#   FUZZ_STOP_AT=03:35 scripts/fuzz-campaign.sh      (start no target that
#                                                    would run past it, UTC)
#   FUZZ_NO_BUILD=1 scripts/fuzz-campaign.sh         (run what is built)
#
# Uses `cargo fuzz` when installed; otherwise builds the same way cargo-fuzz
# does (sancov + AddressSanitizer, --cfg fuzzing, nightly flags through
# RUSTC_BOOTSTRAP) with plain cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH="${1:-600}"
shift || true
cd fuzz
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^kiosk-fuzz$')
fi
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTC_BOOTSTRAP=1
if [ -n "${FUZZ_NO_BUILD:-}" ]; then
  : # run what is built
elif cargo fuzz --help >/dev/null 2>&1; then
  nice -n 19 cargo fuzz build -O
else
  RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing -Zsanitizer=address" \
    nice -n 19 cargo build --release --target "$TRIPLE" --bins
fi
BIN="$ROOT/fuzz/target/$TRIPLE/release"
mkdir -p "$ROOT/fuzz-logs"
status=0
for t in "${TARGETS[@]}"; do
  if [ -n "${FUZZ_STOP_AT:-}" ]; then
    stop=$(date -u -d "$FUZZ_STOP_AT" +%s)
    if [ $(( $(date -u +%s) + SECONDS_EACH )) -gt "$stop" ]; then
      echo "fuzz $t: not run (would end after $FUZZ_STOP_AT UTC)"
      continue
    fi
  fi
  mkdir -p "corpus/$t" "artifacts/$t"
  log="$ROOT/fuzz-logs/$t.log"
  # One process, one worker (libFuzzer's default; -jobs would fork).
  if nice -n 19 "$BIN/$t" "corpus/$t" "seeds/$t" \
      -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
    crash=no
  else
    crash=yes
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz $t: runs=${runs:-?} crash=$crash ($log)"
done
exit $status
