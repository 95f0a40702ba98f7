"""psycopg 3 as Debian ships it (python3-psycopg, the pure-Python
implementation): libpq's functions are looked up by name through ctypes
(dlsym), never through a PLT. Its connects and closes are seen, and a
connection left open is reported."""
from pwtest import PYTHON, check, eq, get, main, pool, run, section

SCRIPT = r'''
import ctypes, psycopg
conn = psycopg.connect("application_name=psycopg3_clean")
print(conn.execute("select 41 + 1").fetchone()[0])
conn.close()
with psycopg.connect("application_name=psycopg3_with") as c:
    c.execute("select 1")
kept = psycopg.connect("application_name=psycopg3_kept")
# Kept alive past the interpreter's shutdown, so no finalizer closes it.
ctypes.pythonapi.Py_IncRef(ctypes.py_object(kept))
'''


def test():
    section("without the shim")
    plain = run([PYTHON, "-c", SCRIPT], preload=False, outdir=False)
    eq(plain.status, 0, "exit status")
    section("under the shim")
    r = run([PYTHON, "-c", SCRIPT])
    eq(r.status, 0, "exit status")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    report = r.only_report()
    eq(get(pool(report), "counters.connects"), 3, "counters.connects")
    eq(get(pool(report), "counters.closes"), 2, "counters.closes")
    eq(get(report, "summary.leaked_connections"), 1, "the kept connection is a leak")
    conninfo = [item.get("conninfo") for leak in report.get("leaks", []) for item in leak.get("items", [])]
    check(any("psycopg3_kept" in (c or "") for c in conninfo), "its conninfo is the kept one's", conninfo)


main(test)
