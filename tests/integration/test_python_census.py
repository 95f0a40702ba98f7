"""The census: what a Python program leaves open when its own code has
finished is leaked, even though the interpreter's shutdown closes it
afterwards; a program that closes everything itself stays clean. Runs
with the shim preloaded and the Python package on PYTHONPATH (README's
line), and through `poolwatch run`."""
import os

from pwtest import PYTHON, check, eq, get, main, run, section
from pypools import items, run_python, script

LEAKS_FOUR = """
    import psycopg2
    kept = [psycopg2.connect("") for _ in range(4)]
    print("done")
"""


def test():
    section("four psycopg2 connections never closed")
    r = run_python(LEAKS_FOUR)
    eq(r.stdout, "done\n", "stdout is the program's own")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 4, "summary.leaked_connections")
    leaked = items(report, "connection", "libpq")
    eq([i.get("closed_by") for i in leaked], ["shutdown"] * 4, "each item's closed_by")
    check("closed by the runtime's shutdown" in r.stderr, "the text report says the shutdown closed them")

    section("the gate: POOLWATCH_EXITCODE=23 and poolwatch run --exitcode 23")
    eq(run_python(LEAKS_FOUR, env={"POOLWATCH_EXITCODE": "23"}).status, 23, "exit status under LD_PRELOAD")
    gate = run([os.environ["PWTEST_POOLWATCH"], "run", "--exitcode", "23", "--", PYTHON, script(LEAKS_FOUR)],
               preload=False, outdir=False)
    eq(gate.status, 23, "poolwatch run --exitcode 23 status")
    check("4 leaked connections" in gate.stderr, "poolwatch run's summary counts 4 leaked connections")

    section("a program that closes everything itself")
    r = run_python("""
        import psycopg2
        conns = [psycopg2.connect("") for _ in range(3)]
        for c in conns:
            c.close()
        with psycopg2.connect("") as c:  # commits, does not close
            pass
        c.close()
    """, env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "exit status")
    eq(get(r.only_report(), "summary.leaked_connections"), 0, "summary.leaked_connections")

    section("a non-daemon thread that closes its connection after main returned")
    r = run_python("""
        import threading, time, psycopg2
        def worker():
            conn = psycopg2.connect("")
            time.sleep(0.3)
            conn.close()
        threading.Thread(target=worker).start()
    """, env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "exit status: the census runs after threading joins the thread")
    eq(get(r.only_report(), "summary.leaked_connections"), 0, "summary.leaked_connections")

    section("a leak created during shutdown, by the program's own atexit handler")
    r = run_python("""
        import atexit, psycopg2
        kept = []
        @atexit.register
        def flush_metrics():
            kept.append(psycopg2.connect(""))
        print("main done")
    """)
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 1, "summary.leaked_connections")
    eq([i.get("closed_by") for i in items(report, "connection", "libpq")], ["shutdown"], "closed_by")

    section("a connection opened and closed during finalization, after the census")
    r = run_python("""
        import sys, psycopg2
        class Audit:
            def __del__(self):
                # Runs as the interpreter clears __main__, after the census.
                conn = psycopg2.connect("")
                conn.close()
                sys.stderr.write("audit written\\n")
        audit = Audit()
    """, env={"POOLWATCH_EXITCODE": "23"})
    check("audit written" in r.stderr, "the finalizer ran", r.stderr)
    eq(r.status, 0, "exit status")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections")
    eq(get(report, ["pools", 0, "counters", "connects"]), 1, "the finalizer's connect was seen")

    section("without the shim: the package does nothing, the program runs unchanged")
    r = run_python(LEAKS_FOUR, preload=False)
    eq(r.status, 0, "exit status")
    eq(r.stdout, "done\n", "stdout")
    eq(r.stderr, "", "stderr")
    eq(r.files, [], "no files")

    section("the sitecustomize it hides still runs")
    other = os.path.dirname(script("import sys\nsys.stderr.write('other sitecustomize ran\\n')\n",
                                   name="sitecustomize.py"))
    for preload in (True, False):
        r = run_python("print('done')", preload=preload,
                       env={"PYTHONPATH": os.pathsep.join([os.path.join(os.path.dirname(os.environ["POOLWATCH_LIB"]),
                                                                        "poolwatch", "python"), other])})
        check("other sitecustomize ran" in r.stderr, "the next sitecustomize on the path ran (preload=%s)" % preload,
              r.stderr)


main(test)
