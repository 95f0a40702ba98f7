#!/bin/sh
# Builds poolwatch once more with AddressSanitizer and UBSan, library
# included (build-sanitize/, -DPOOLWATCH_SANITIZE=ON), and runs the suite
# there; CI runs it after scripts/test.sh:
#   scripts/sanitize.sh
# Any sanitizer report fails the run: the runtimes halt on the first error
# and write their reports under build-sanitize/sanitizer-logs/, which must
# stay empty. The test programs and examples are instrumented too, so the
# shim's hooks and its at-exit report run checked inside them; for hosts
# that are not (Python), the runtime is preloaded ahead of the shim
# (PWTEST_PRELOAD_FIRST).
#
# Left out: test_psql, test_pgbench_connect_per_txn, test_pg_dump_jobs and
# test_cxx_frames (libpqxx's program, not instrumented either).
# psql, pgbench and pg_dump hang at exit when ASan's runtime is preloaded
# into them, with or without poolwatch: p11-kit's destructor, which libpq
# pulls in, blocks in freelocale on glibc's locale lock. Those runs would
# test the sanitizer, not poolwatch; the normal run covers them. (A test
# program linked with the runtime instead of preloading it exits cleanly,
# which is why the test programs are built instrumented.)
#
# Also left out, for the sanitizer's own limits: test_php_pgsql and
# test_php_frames (PHP loads its extensions, opcache and pgsql, with
# RTLD_DEEPBIND, which ASan's runtime refuses: php stops at start-up, with
# or without poolwatch) and test_loader_semantics (ASan intercepts dlopen
# itself, so a library's bare-name dlopen no longer searches that library's
# RUNPATH: the very behaviour the test checks poolwatch keeps).
set -eu
cd "$(dirname "$0")/.."

sh scripts/install-deps.sh
build=build-sanitize
cmake -S . -B "$build" -DPOOLWATCH_SANITIZE=ON >/dev/null
cmake --build "$build" -j2

logs="$PWD/$build/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
runtime=$(gcc -print-file-name=libasan.so)
# verify_asan_link_order=0: `poolwatch run` puts the shim ahead of the
# runtime in LD_PRELOAD; the runtime is still loaded before any program
# code runs, as a dependency of the shim.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:verify_asan_link_order=0:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
export PWTEST_PRELOAD_FIRST="$runtime"

status=0
ctest --test-dir "$build" -j2 --output-on-failure \
  -E '^(test_psql|test_pgbench_connect_per_txn|test_pg_dump_jobs|test_php_pgsql|test_php_frames|test_loader_semantics|test_cxx_frames)$' || status=$?

if [ -n "$(ls -A "$logs")" ]; then
  echo "sanitizer reports:" >&2
  for f in "$logs"/*; do
    echo "==> $f" >&2
    cat "$f" >&2
  done
  status=1
fi
exit "$status"
