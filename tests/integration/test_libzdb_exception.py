"""libzdb reports errors by longjmp (TRY/CATCH): ConnectionPool_start on a
pool that cannot connect throws out of poolwatch's hook. Afterwards the
program's own PQconnectdb still belongs to the libpq pool, and a checkout
from a good pool is still recorded."""
from pwtest import eq, get, leaked_from, main, pool, program, run


def test():
    r = run([program("zdb_pool"), "throw"])
    eq(r.status, 0, "exit status")
    eq(r.stdout, "start failed\nown 1 checkout 1\n", "stdout")
    report = r.only_report()
    eq(leaked_from(report, "open_own_connection"), 1, "the program's own connection leaked from libpq")
    eq(get(pool(report, "libpq"), "counters.connects"), 1, "libpq pool: one connect (the program's own)")
    eq(leaked_from(report, "checkout_for_report", kind="checkout"), 1, "the good pool's leaked checkout")
    eq(get(report, "summary.leaked_connections"), 1, "summary.leaked_connections")
    eq(get(report, "summary.leaked_checkouts"), 1, "summary.leaked_checkouts")


main(test)
