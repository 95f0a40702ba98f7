#!/bin/sh
# The overhead benchmark: the same workloads without and with
# libpoolwatch.so preloaded, against a throwaway PostgreSQL, as a table.
#
#   tests/bench/run.sh [--quick] [--profile] [--build DIR]
#
#   --quick     fewer and shorter rounds (well under a minute)
#   --profile   where the shim's time goes per libzdb checkout+checkin
#               (callgrind, and perf where it works) instead of the table
#   --build DIR the build tree (default: build-bench at the top); it is
#               configured as Release and the bench targets are built
#
# Results also go to DIR/bench-results.md (DIR/bench-profile.md). Run it
# on an otherwise idle machine: the numbers are only as quiet as that.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-bench
mode=
quick=
usage() { echo "usage: $0 [--quick] [--profile] [--build DIR]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
  --quick) quick=--quick ;;
  --profile) mode=--profile ;;
  --build) [ $# -ge 2 ] || usage; build=$2; shift ;;
  *) usage ;;
  esac
  shift
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
cmake --build "$build" -j2 --target bench >/dev/null

server=$("$root/scripts/pg-env.sh" start)
eval "$server"
trap '"$root/scripts/pg-env.sh" stop >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

out=$build/bench-results.md
[ -n "$mode" ] && out=$build/bench-profile.md
/usr/bin/python3 "$root/tests/bench/bench.py" --build "$build" --out "$out" $quick $mode
