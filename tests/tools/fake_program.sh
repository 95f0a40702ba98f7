#!/bin/sh
# Stands in for a program under the library in tests of `poolwatch run`: it
# writes the report files the library would write, then exits as told.
#   fake_program.sh FIXTURE_DIR ACTION...
# Actions, done in order:
#   report NAME    copy FIXTURE_DIR/NAME to $POOLWATCH_OUTPUT_DIR/poolwatch-$$.json
#   child NAME     the same from a child process (another pid), as a forked worker would
#   garbage        write a report that is not valid JSON
#   env            save the environment to $POOLWATCH_OUTPUT_DIR/env.txt
#   chdir          change directory, as daemons do, before the next actions
#   exit N         exit with status N
#   kill SIG       kill itself with signal SIG
set -eu
fixtures=$1
shift
while [ $# -gt 0 ]; do
  case $1 in
    report) cp "$fixtures/$2" "$POOLWATCH_OUTPUT_DIR/poolwatch-$$.json"; shift 2 ;;
    child) sh -c 'cp "$1" "$POOLWATCH_OUTPUT_DIR/poolwatch-$$.json"' child "$fixtures/$2"; shift 2 ;;
    garbage) printf '{"tool": "poolwatch", "schema"' > "$POOLWATCH_OUTPUT_DIR/poolwatch-$$.json"; shift ;;
    env) env > "$POOLWATCH_OUTPUT_DIR/env.txt"; shift ;;
    chdir) cd /; shift ;;
    exit) exit "$2" ;;
    kill) kill -s "$2" $$; sleep 5; exit 99 ;;
    *) echo "fake_program.sh: unknown action $1" >&2; exit 99 ;;
  esac
done
