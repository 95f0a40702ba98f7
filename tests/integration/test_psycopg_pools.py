"""psycopg2.pool (Simple and Threaded) and psycopg 3's psycopg_pool, tracked
with no change to the program: checkouts leaked and returned, the pool
exhausted with its holders, a connection returned mid-transaction, and
the pool's idle connections, which are the pool's and not libpq leaks."""
from pwtest import check, eq, findings, get, main, section
from pypools import items, pool_of_kind, run_python

PSYCOPG2_POOL = """
    import sys, threading, psycopg2.pool
    Pool = getattr(psycopg2.pool, sys.argv[1])
    pool = Pool(1, 3, "")
    def leak():
        return pool.getconn()  # never put back
    def serve():
        conn = pool.getconn()
        conn.cursor().execute("select 1")
        conn.commit()
        pool.putconn(conn)
    if sys.argv[2] == "leak":
        kept = [leak(), leak()]
    elif sys.argv[2] == "exhaust":
        kept = [leak(), leak(), leak()]
        try:
            pool.getconn()
        except psycopg2.pool.PoolError as error:
            print(error)
    elif sys.argv[2] == "transaction":
        conn = pool.getconn()
        conn.cursor().execute("select 1")  # opens a transaction
        pool.putconn(conn)                 # rolled back by the pool
    else:
        threads = [threading.Thread(target=serve) for _ in range(3)]
        for t in threads: t.start()
        for t in threads: t.join()
        serve()
        if sys.argv[2] == "closeall":
            pool.closeall()
"""

PSYCOPG_POOL = """
    import sys, psycopg_pool
    pool = psycopg_pool.ConnectionPool("", min_size=2, max_size=2, timeout=0.5, name="orders")
    pool.wait()
    def leak():
        return pool.getconn()  # never put back
    if sys.argv[1] == "leak":
        kept = [leak()]
    elif sys.argv[1] == "exhaust":
        kept = [leak(), leak()]
        try:
            with pool.connection() as conn:
                pass
        except psycopg_pool.PoolTimeout as error:
            print("PoolTimeout")
    elif sys.argv[1] == "transaction":
        conn = pool.getconn()
        conn.execute("select 1")
        pool.putconn(conn)
    else:
        for _ in range(5):
            with pool.connection() as conn:
                conn.execute("select 1")
        if sys.argv[1] == "close":
            pool.close()
"""


def no_libpq_leaks(report):
    eq(get(report, "summary.leaked_connections"), 0, "no leaked connections (idle ones are the pool's)")


def test():
    for cls in ("SimpleConnectionPool", "ThreadedConnectionPool"):
        section("psycopg2.pool.%s: two checkouts leaked" % cls)
        r = run_python(PSYCOPG2_POOL, args=[cls, "leak"], env={"POOLWATCH_EXITCODE": "23"})
        eq(r.status, 23, "exit status (the gate)")
        report = r.only_report()
        p = pool_of_kind(report, "psycopg2.pool")
        check(p.get("name", "").startswith(cls), "pool name starts with the class", p.get("name"))
        eq(get(p, "configured_size"), 1, "configured_size (minconn)")
        eq(get(p, "max_size"), 3, "max_size (maxconn)")
        eq(len(items(report, "checkout", p.get("name"))), 2, "two leaked checkouts")
        no_libpq_leaks(report)

        section("psycopg2.pool.%s: every checkout returned" % cls)
        r = run_python(PSYCOPG2_POOL, args=[cls, "clean"], env={"POOLWATCH_EXITCODE": "23"})
        eq(r.status, 0, "exit status")
        report = r.only_report()
        eq(get(report, "summary.leaked_checkouts"), 0, "no leaked checkouts")
        no_libpq_leaks(report)
        eq([f.get("kind") for f in report.get("findings", [])], [], "no findings")
        p = pool_of_kind(report, "psycopg2.pool")
        eq(get(p, "counters.checkouts"), 4, "checkouts")
        eq(get(p, "counters.checkins"), 4, "checkins")

    section("psycopg2.pool: exhausted, with its holders")
    r = run_python(PSYCOPG2_POOL, args=["ThreadedConnectionPool", "exhaust"])
    eq(r.stdout, "connection pool exhausted\n", "the program saw PoolError")
    report = r.only_report()
    exhausted = findings(report, "pool_exhausted")
    eq(len(exhausted), 1, "one pool_exhausted finding")
    eq(sum(h.get("count", 0) for h in (exhausted[0].get("holders", []) if exhausted else [])), 3,
       "holders: the three checkouts")

    section("psycopg2.pool: returned mid-transaction, rolled back by the pool")
    report = run_python(PSYCOPG2_POOL, args=["SimpleConnectionPool", "transaction"]).only_report()
    eq(len(findings(report, "checkin_in_transaction")), 1, "one checkin_in_transaction finding")

    section("psycopg2.pool: closeall stops the pool")
    r = run_python(PSYCOPG2_POOL, args=["ThreadedConnectionPool", "closeall"], env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "exit status")
    report = r.only_report()
    eq(get(pool_of_kind(report, "psycopg2.pool"), ("metrics", "pool.checkedin")), 0, "pool.checkedin after closeall")
    eq(get(pool_of_kind(report, "psycopg2.pool"), ("metrics", "pool.size")),
       get(pool_of_kind(report, "psycopg2.pool"), "configured_size"), "pool.size is the configured size")
    no_libpq_leaks(report)

    section("psycopg_pool: one checkout leaked")
    r = run_python(PSYCOPG_POOL, args=["leak"], env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 23, "exit status (the gate)")
    report = r.only_report()
    p = pool_of_kind(report, "psycopg_pool")
    eq(p.get("name"), "orders", "pool name")
    eq(get(p, "configured_size"), 2, "configured_size (min_size)")
    eq(get(p, "max_size"), 2, "max_size")
    eq(get(p, "peaks.max_size"), 2, "peak pool.size")
    eq(len(items(report, "checkout", "orders")), 1, "one leaked checkout")
    no_libpq_leaks(report)

    for how in ("clean", "close"):
        section("psycopg_pool: every checkout returned (%s)" % how)
        r = run_python(PSYCOPG_POOL, args=[how], env={"POOLWATCH_EXITCODE": "23"})
        eq(r.status, 0, "exit status")
        report = r.only_report()
        eq(get(report, "summary.leaked_checkouts"), 0, "no leaked checkouts")
        no_libpq_leaks(report)
        eq([f.get("kind") for f in report.get("findings", [])], [], "no findings")
        eq(get(pool_of_kind(report, "psycopg_pool"), "counters.checkouts"), 5, "checkouts through connection()")

    section("psycopg_pool: PoolTimeout, with its holders")
    r = run_python(PSYCOPG_POOL, args=["exhaust"])
    eq(r.stdout, "PoolTimeout\n", "the program saw PoolTimeout")
    exhausted = findings(r.only_report(), "pool_exhausted")
    eq(len(exhausted), 1, "one pool_exhausted finding")
    eq(sum(h.get("count", 0) for h in (exhausted[0].get("holders", []) if exhausted else [])), 2,
       "holders: the two checkouts")

    section("psycopg_pool: returned mid-transaction, rolled back by the pool")
    report = run_python(PSYCOPG_POOL, args=["transaction"]).only_report()
    eq(len(findings(report, "checkin_in_transaction")), 1, "one checkin_in_transaction finding")


main(test)
