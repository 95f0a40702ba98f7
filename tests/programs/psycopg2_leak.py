"""Leaks psycopg2 connections the way a Python service does.

psycopg2's _psycopg.so links libpq and Python loads it with RTLD_LOCAL, so
this is the case of a libpq loaded by an interpreter. Opens 3 connections, closes 1,
and leaves 2 open. Python closes every connection it can still reach while
it shuts down, so the 2 leaked ones are held by a background thread that is
blocked at exit: like a worker that took connections and never gave them
back. Run with Debian's /usr/bin/python3 (it has psycopg2); connects through
the PG* environment variables.
"""
import threading

import psycopg2


def open_worker_connections(n):
    return [psycopg2.connect("application_name=psycopg2_leak") for _ in range(n)]


def hold(conns, ready):
    ready.set()
    threading.Event().wait()  # never returns: conns stay open until exit


def main():
    closed = psycopg2.connect("")
    with closed.cursor() as cur:
        cur.execute("select 1")
    closed.close()

    ready = threading.Event()
    threading.Thread(target=hold, args=(open_worker_connections(2), ready), daemon=True).start()
    ready.wait()
    print("psycopg2_leak done")


if __name__ == "__main__":
    main()
