"""Leaks psycopg2 connections from Python code in the ways that shape a
stack: two functions, threads, a C thread with no Python state, and an
atexit handler running during the interpreter's shutdown.

Usage: python_frames.py SCENARIO [LIBRARY], SCENARIO one of two, threads,
c_thread (LIBRARY: the ctypes library that connects from a pthread),
atexit, hold (leaks, prints "held", waits for a line on stdin). Connects
through the PG* environment variables; run with Debian's /usr/bin/python3.
"""
import atexit
import ctypes
import sys
import threading

import psycopg2


def keep(conn):
    """Leaks CONN for good. Python's shutdown closes every connection it can
    still reach, so a leak held in a variable would be closed before the
    report; an extra reference that nothing drops keeps it open to the end,
    as a connection held by a stuck worker would be."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(conn))
    return conn


def leak_a():
    return keep(psycopg2.connect("application_name=leak_a"))  # pwtest:leak_a


def leak_b():
    return keep(psycopg2.connect("application_name=leak_b"))  # pwtest:leak_b


def closed():
    psycopg2.connect("application_name=closed").close()


def leak_in_thread():
    keep(psycopg2.connect("application_name=thread"))  # pwtest:leak_in_thread


class Worker(threading.Thread):
    def run(self):
        closed()
        leak_in_thread()


def spin(stop):
    """Keeps the GIL busy with Python code while the workers connect."""
    n = 0
    while not stop.is_set():
        n += 1


def leak_at_exit():
    keep(psycopg2.connect("application_name=atexit"))  # pwtest:leak_at_exit


def main():
    scenario = sys.argv[1]
    if scenario == "two":
        closed()
        leak_a()
        leak_b()
        leak_b()
    elif scenario == "threads":
        stop = threading.Event()
        spinner = threading.Thread(target=spin, args=(stop,))
        spinner.start()
        workers = [Worker() for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        stop.set()
        spinner.join()
    elif scenario == "c_thread":
        library = ctypes.CDLL(sys.argv[2])
        if library.connect_in_c_thread() != 0:
            sys.exit("connect_in_c_thread failed")
        leak_a()
    elif scenario == "atexit":
        atexit.register(leak_at_exit)
    elif scenario == "hold":
        leak_a()
        print("held", flush=True)
        sys.stdin.readline()
    print("python_frames %s done" % scenario)


if __name__ == "__main__":
    main()
