#!/bin/sh
# A throwaway PostgreSQL for trying poolwatch by hand or from the demo:
#
#   eval "$(scripts/pg-env.sh start)"   # starts it, exports PGHOST and friends
#   scripts/pg-env.sh stop              # stops the one PGHOST points at, removes it
#
# The cluster lives in a fresh directory under /tmp and listens only on a
# unix socket there; tests/pg/pg-cluster.sh does the work.
set -eu
cluster=$(cd "$(dirname "$0")/../tests/pg" && pwd)/pg-cluster.sh

case ${1:-} in
start)
  parent=$(mktemp -d /tmp/poolwatch-pg.XXXXXX)
  chmod 0755 "$parent"
  sh "$cluster" start "$parent/pg" 5432 >&2 || { rm -rf "$parent"; exit 1; }
  echo "export PGHOST='$parent/pg' PGPORT=5432 PGUSER=postgres PGDATABASE=postgres"
  ;;
stop)
  dir=${2:-${PGHOST:-}}
  case $dir in
  /tmp/poolwatch-pg.*/pg) ;;
  *) echo "$0: stop: PGHOST ('$dir') is not a cluster made by '$0 start'" >&2; exit 1 ;;
  esac
  sh "$cluster" stop "$dir" >&2
  rmdir "$(dirname "$dir")"
  ;;
*)
  echo "usage: eval \"\$($0 start)\" ... $0 stop [DIR]" >&2
  exit 2
  ;;
esac
