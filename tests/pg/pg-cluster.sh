#!/bin/sh
# Starts or stops a throwaway PostgreSQL cluster that listens only on a unix
# socket inside its own directory, so tests never touch a real server.
#
#   pg-cluster.sh start DIR [PORT]   initdb + start; DIR must not be in use
#   pg-cluster.sh stop DIR           stop (fast, then immediate) and remove DIR
#
# DIR holds the socket (PGHOST=DIR), data/ and log. As root the server runs
# as the `postgres` user (PostgreSQL refuses to run as root); as anyone else
# it runs as that user. PG_BINDIR overrides where initdb and pg_ctl are found.
set -eu

usage() { echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2
port=${3:-5432}

# Debian keeps the server binaries out of PATH, one directory per version.
find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then echo "$newest"; return; fi
  initdb=$(command -v initdb 2>/dev/null) || { echo "$0: initdb not found (install postgresql)" >&2; exit 1; }
  dirname "$initdb"
}

# Runs a server command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_cluster() {
  data=$dir/data
  [ -f "$data/PG_VERSION" ] || return 0
  bindir=$(find_bindir)
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # A postmaster that survived both (should not happen) must not keep the
  # directory busy: its pid is the first line of postmaster.pid.
  if [ -f "$data/postmaster.pid" ]; then
    pid=$(head -n 1 "$data/postmaster.pid")
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
}

case $action in
start)
  bindir=$(find_bindir)
  # A run that was killed may have left its cluster behind at this path.
  if [ -e "$dir" ] || [ -L "$dir" ]; then
    stop_cluster
    rm -rf "$dir"
  fi
  # mkdir fails if someone else creates the path in between: we never reuse
  # a directory we did not make ourselves.
  mkdir -m 0755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  as_owner "$bindir/initdb" -D "$dir/data" --auth=trust -U postgres -E UTF8 --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # fsync=off: the cluster is thrown away, and tests should not wait on disks.
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=off" \
      start >/dev/null; then
    cat "$dir/server.log" >&2
    exit 1
  fi
  echo "$("$bindir/postgres" -V) listening on $dir/.s.PGSQL.$port"
  ;;
stop)
  # Only remove what looks like one of our clusters, so a wrong argument
  # cannot wipe an unrelated directory.
  if [ -e "$dir" ] && [ ! -d "$dir/data" ] && [ ! -f "$dir/initdb.log" ]; then
    echo "$0: $dir does not look like a pg-cluster.sh directory; not removing it" >&2
    exit 1
  fi
  stop_cluster
  rm -rf "$dir"
  echo "stopped and removed $dir"
  ;;
*) usage ;;
esac
