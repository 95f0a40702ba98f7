#!/bin/sh
# Shows poolwatch on programs that leak on purpose:
#   scripts/demo.sh
# Installs missing Debian packages, builds into build/, starts a throwaway
# PostgreSQL, runs each example under the shim, shows the leak report and
# the dashboard config it wrote, and stops PostgreSQL again (also on error
# or Ctrl-C).
set -eu
cd "$(dirname "$0")/.."

sh scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j2 >/dev/null

lib=$(find "$PWD/build" -name libpoolwatch.so.0 | head -n 1)
[ -n "$lib" ] || { echo "$0: libpoolwatch.so was not built" >&2; exit 1; }

eval "$(sh scripts/pg-env.sh start)"
out=$(mktemp -d /tmp/poolwatch-demo.XXXXXX)
cleanup() { sh scripts/pg-env.sh stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# run NAME PROGRAM ARGS...: the example's own output, then poolwatch's
# report on stderr, then the dashboard config it wrote.
run() {
  name=$1
  shift
  mkdir -p "$out/$name"
  printf '\n=== %s, under LD_PRELOAD=%s\n\n' "$name" "$lib"
  # The examples leak on purpose; their exit status is not the point here.
  LD_PRELOAD=$lib POOLWATCH_OUTPUT_DIR=$out/$name "$@" || true
  for dashboard in "$out/$name"/poolwatch-*.dashboard.json; do
    [ -e "$dashboard" ] || continue
    printf '\n--- dashboard config: %s\n' "$dashboard"
    cat "$dashboard"
    echo
  done
}

run leaky_libpq build/examples/leaky_libpq
run leaky_libzdb build/examples/leaky_libzdb
run leaky_pool build/examples/leaky_pool
if /usr/bin/python3 -c 'import psycopg2' 2>/dev/null; then
  run leaky_psycopg2 /usr/bin/python3 examples/leaky_psycopg2.py
fi

# The seed's scenario: a SQLAlchemy QueuePool that runs out. `poolwatch
# run` puts poolwatch's Python support on PYTHONPATH, so SQLAlchemy's pool
# is tracked with no change to the program; the report's pool_exhausted
# finding lists who holds the pool's connections.
if /usr/bin/python3 -c 'import sqlalchemy, psycopg2' 2>/dev/null; then
  printf '\n=== leaky_sqlalchemy, under poolwatch run\n\n'
  build/tools/poolwatch run --output "$out/leaky_sqlalchemy" -- \
    /usr/bin/python3 examples/leaky_sqlalchemy.py || true
fi

printf '\nAll reports (JSON, text, dashboard) are in %s\n' "$out"
