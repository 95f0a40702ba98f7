#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz with clang (build-fuzz/) and
# runs each for a bounded time over its seed corpus; CI runs it after the
# test suites:
#   scripts/fuzz.sh [SECONDS]      # per harness; default 20
# Inputs the fuzzer finds interesting go to build-fuzz/corpus/NAME (the
# seeds in tests/fuzz/corpus/NAME are only read). A crash, a sanitizer
# report, a timeout or running out of memory fails the run and leaves the
# input in build-fuzz/artifacts/; add it to the seed corpus and turn it into
# a regression test once fixed.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-20}

sh scripts/install-deps.sh
build=build-fuzz
CC=${FUZZ_CC:-clang-14} cmake -S . -B "$build" -DPOOLWATCH_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
harnesses="suppressions options redact report"
targets=
for h in $harnesses; do targets="$targets fuzz_$h"; done
# shellcheck disable=SC2086 # one word per target
cmake --build "$build" -j2 --target $targets

mkdir -p "$build/artifacts"
status=0
for h in $harnesses; do
  corpus="$build/corpus/$h"
  mkdir -p "$corpus"
  log="$build/fuzz_$h.log"
  echo "fuzz_$h: ${seconds}s"
  # -timeout: one input may take at most 10 s (a hang is a finding);
  # -rss_limit_mb: a 50 MB report may use memory, not all of it.
  # -close_fd_mask=3: the harnesses' own output (reports, warnings) is
  # silenced; libFuzzer and the sanitizers keep theirs.
  if "$build/tests/fuzz/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -close_fd_mask=3 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$h-" \
       "$corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units' "$log" || true
  else
    echo "fuzz_$h FAILED; the end of $log:" >&2
    tail -n 60 "$log" >&2
    status=1
  fi
done
exit "$status"
