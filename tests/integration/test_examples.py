"""The examples the demo runs leak exactly what their comments say, and
poolwatch reports it: raw libpq, libzdb's pool and psycopg2. (leaky_pool,
the annotated pool, has its own test: test_annotation_api.)"""
import os

from pwtest import PYTHON, check, eq, findings, frame_of, get, leaked_from, main, run, section

EXAMPLES = os.environ.get("PWTEST_EXAMPLES_BIN", "")
EXAMPLES_SRC = os.environ.get("PWTEST_EXAMPLES_SRC", "")


def example(name):
    return os.path.join(EXAMPLES, name)


def test():
    section("leaky_libpq: a connection per report, not finished on the error path")
    r = run([example("leaky_libpq")])
    eq(r.status, 0, "exit status")
    check("1 of 4 reports failed" in r.stdout, "stdout says one report failed", r.stdout)
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 1, "summary.leaked_connections")
    eq(leaked_from(report, "run_report"), 1, "leaked through run_report")
    eq(leaked_from(report, "open_report_connection"), 1, "leaked from open_report_connection")

    section("leaky_libzdb: checkouts kept, a checkin mid-transaction, a pool never stopped")
    r = run([example("leaky_libzdb")])
    eq(r.status, 0, "exit status")
    eq(r.stdout, "batch done\n", "stdout")
    report = r.only_report()
    eq(get(report, "summary.leaked_checkouts"), 3, "summary.leaked_checkouts (days 1, 3 and 5)")
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections (the pool's own are not)")
    eq(leaked_from(report, "run_report", kind="checkout"), 3, "checkouts leaked through run_report")
    in_transaction = findings(report, "checkin_in_transaction")
    eq(len(in_transaction), 1, "checkin_in_transaction findings")
    check(in_transaction and frame_of(in_transaction[0].get("stack"), "record_visit"),
          "the checkin_in_transaction stack is in record_visit")
    eq(len(findings(report, "pool_not_closed")), 1, "pool_not_closed findings")
    zdb_pools = [p for p in report.get("pools", []) if p.get("kind") == "libzdb"]
    eq(len(zdb_pools), 1, "libzdb pools")
    if zdb_pools:
        eq(get(zdb_pools[0], "configured_size"), 2, "configured_size (initial connections)")
        eq(get(zdb_pools[0], "max_size"), 4, "max_size")
        eq(get(zdb_pools[0], ["metrics", "pool.checkedout"]), 3, "pool.checkedout at exit")

    section("leaky_psycopg2: two requests keep their connection")
    r = run([PYTHON, os.path.join(EXAMPLES_SRC, "leaky_psycopg2.py")])
    eq(r.status, 0, "exit status")
    check("user 6 -> None" in r.stdout, "all six requests ran", r.stdout)
    eq(get(r.only_report(), "summary.leaked_connections"), 2, "summary.leaked_connections (users 3 and 6)")


main(test)
