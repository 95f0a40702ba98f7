"""A Python program using psycopg2 (libpq loaded RTLD_LOCAL by the
interpreter): 3 connections opened, 1 closed, 2 leaked, and the report
points into psycopg2's extension module."""
import os

from pwtest import PROGRAMS_SRC, PYTHON, check, eq, get, main, pool, run, section


def test():
    script = os.path.join(PROGRAMS_SRC, "psycopg2_leak.py")
    section("without the shim")
    plain = run([PYTHON, script], preload=False, outdir=False)
    eq(plain.status, 0, "exit status")
    eq(plain.stdout, "psycopg2_leak done\n", "stdout")

    section("under the shim")
    r = run([PYTHON, script])
    eq(r.status, 0, "exit status")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    report = r.only_report()
    if not report:
        return
    eq(get(report, "summary.leaked_connections"), 2, "summary.leaked_connections")
    leaks = report.get("leaks", [])
    eq(sum(g.get("count", 0) for g in leaks), 2, "connections in leak groups")
    check(all(any("_psycopg" in str(f.get("module", "")) for f in g.get("stack", [])) for g in leaks),
          "every leak stack passes through psycopg2's _psycopg module",
          [[f.get("module") for f in g.get("stack", [])] for g in leaks])
    p = pool(report)
    eq(get(p, "counters.connects"), 3, "counters.connects")
    eq(get(p, "counters.closes"), 1, "counters.closes")
    eq(get(p, ["metrics", "pool.size"]), 2, "pool.size")


main(test)
