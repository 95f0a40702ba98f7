"""SQLAlchemy 1.4 pools tracked through their pool events, with no change
to the program: the QueuePool timeout with its holders, leaked checkouts
at exit, SQLAlchemy's own metrics, an idle pool that is not a leak, and a
connection returned with a transaction open."""
import os

from pwtest import PYTHON, check, eq, findings, get, main, run, section
from pypools import PACKAGE_DIR, items, pool_of_kind, run_python, script

SECRET = "Zq9pw"
# The test cluster trusts local users, so the password is never checked;
# it is there to be hidden.
URL = "postgresql+psycopg2://postgres:%s@/%s?host=%s" % (
    SECRET, os.environ.get("PGDATABASE", "postgres"), os.environ.get("PGHOST", ""))
# SQLAlchemy's own rendering with the password hidden; pool names keep
# their first 63 bytes.
SHOWN_URL = "postgresql+psycopg2://postgres:***@/"


def no_secret(r):
    texts = [r.stderr] + [r.read(f) for f in r.files]
    check(all(SECRET not in t for t in texts), "the URL's password is in no output")


def test():
    section("examples/leaky_sqlalchemy.py: the QueuePool times out")
    example = os.path.join(os.environ["PWTEST_EXAMPLES_SRC"], "leaky_sqlalchemy.py")
    r = run([PYTHON, example], env={"PYTHONPATH": PACKAGE_DIR})
    check("QueuePool limit of size 2 overflow 1 reached, connection timed out" in r.stderr,
          "the program failed as it does without poolwatch", r.stderr[-400:])
    report = r.only_report()
    p = pool_of_kind(report, "sqlalchemy")
    eq(p.get("name"), "postgresql+psycopg2://", "pool name (the engine URL)")
    eq(get(p, ("metrics", "pool.size")), 2, "pool.size is QueuePool's size(), its configured size")
    eq(get(p, ("metrics", "pool.checkedin")), 0, "pool.checkedin at exit (the shutdown closed them)")
    eq(get(p, "configured_size"), 2, "configured_size (pool_size)")
    eq(get(p, "max_size"), 3, "max_size (pool_size + max_overflow)")
    eq(get(p, ("metrics", "pool.overflow")), 1, "pool.overflow (QueuePool.overflow())")
    eq(get(p, "peaks.max_checkedout"), 3, "peak pool.checkedout")
    eq(get(p, "counters.failed_checkouts"), 1, "failed checkouts")
    exhausted = findings(report, "pool_exhausted")
    eq(len(exhausted), 1, "one pool_exhausted finding")
    holders = exhausted[0].get("holders", []) if exhausted else []
    eq(sum(h.get("count", 0) for h in holders), 3, "holders: the three checkouts holding the pool")
    check(all(h.get("stack") for h in holders), "every holder has a stack")
    # The stacks speak the program's language and start at its own calls:
    # SQLAlchemy's Engine.connect, then the example's functions at their
    # lines; poolwatch's package and the FFI it calls through are not shown.
    stacks = ([leak.get("stack", []) for leak in report.get("leaks", [])] + [h.get("stack", []) for h in holders]
              + [exhausted[0].get("stack", []) if exhausted else []])
    own = [f for st in stacks for f in st
           if "/poolwatch/" in str(f.get("file")) or "libffi" in str(f.get("module"))]
    eq(own, [], "no frame of poolwatch's own package or of libffi in any stack")
    callers = {(f.get("function"), f.get("language")) for st in stacks for f in st
               if str(f.get("file", "")).endswith("leaky_sqlalchemy.py")}
    check({("monthly_report", "python"), ("list_orders", "python")} <= callers,
          "the finding, its holders and the leaks name the example's functions, as Python frames", sorted(map(str, callers)))
    eq(get(report, "summary.leaked_checkouts"), 3, "summary.leaked_checkouts")
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections: the pool's, not libpq leaks")

    section("metrics in SQLAlchemy's meaning, the URL without its password")
    r = run_python("""
        import sys, sqlalchemy
        engine = sqlalchemy.create_engine(sys.argv[1], pool_size=5, max_overflow=2)
        conns = [engine.connect() for _ in range(2)]
        for c in conns:
            c.close()
        print(engine.pool.overflow(), engine.pool.checkedin())
    """, args=[URL])
    eq(r.stdout, "-3 2\n", "SQLAlchemy's own overflow and checkedin")
    report = r.only_report()
    p = pool_of_kind(report, "sqlalchemy")
    check(p.get("name", "").startswith(SHOWN_URL), "pool name is the URL with the password hidden", p.get("name"))
    eq(get(p, ("metrics", "pool.overflow")), -3, "pool.overflow is QueuePool.overflow()")
    eq(get(p, "configured_size"), 5, "configured_size")
    eq(get(p, "max_size"), 7, "max_size")
    eq(get(p, "counters.checkouts"), 2, "checkouts")
    eq(get(p, "counters.checkins"), 2, "checkins")
    eq(get(p, "peaks.max_size"), 2, "peak pool.size")
    no_secret(r)

    section("a long-running program with an idle pool it never disposes: no leaks")
    r = run_python("""
        import sys, threading, sqlalchemy
        from sqlalchemy import text
        engine = sqlalchemy.create_engine(sys.argv[1], pool_size=3)
        def serve():
            for _ in range(20):
                with engine.connect() as conn:
                    conn.execute(text("select 1"))
        threads = [threading.Thread(target=serve) for _ in range(3)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(engine.pool.checkedin())
    """, args=[URL], env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "exit status")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 0, "no leaked connections (idle ones are the pool's)")
    eq(get(report, "summary.leaked_checkouts"), 0, "no leaked checkouts")
    eq([f.get("kind") for f in report.get("findings", [])], [], "no findings (no pool_not_closed for an engine)")
    p = pool_of_kind(report, "sqlalchemy")
    eq(get(p, "counters.checkouts"), 60, "checkouts")
    libpq = [q for q in report.get("pools", []) if q.get("kind") == "libpq"]
    check(all(get(q, "counters.connects", 0) == 0 for q in libpq),
          "the pool's connects moved out of the libpq pool", libpq)

    section("checkouts leaked at exit")
    r = run_python("""
        import sys, sqlalchemy
        engine = sqlalchemy.create_engine(sys.argv[1])
        def leak():
            return engine.raw_connection()  # never closed
        kept = [leak(), leak()]
    """, args=[URL], env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 23, "exit status (the gate)")
    report = r.only_report()
    leaked = items(report, "checkout", pool_of_kind(report, "sqlalchemy").get("name"))
    eq(len(leaked), 2, "two leaked checkouts")
    eq(get(report, "summary.leaked_connections"), 0, "their connections are not leaked twice")

    section("checkouts from the pool itself, at two call sites in turn")
    r = run_python("""
        import sys, sqlalchemy
        pool = sqlalchemy.create_engine(sys.argv[1], pool_size=5).pool
        def first():
            return pool.connect()  # pwtest:first
        def second():
            return pool.connect()  # pwtest:second
        kept = []
        for _ in range(3):
            kept += [first(), second()]
    """, args=[URL])
    report = r.only_report()
    leaked = items(report, "checkout", pool_of_kind(report, "sqlalchemy").get("name"))
    eq(len(leaked), 6, "six leaked checkouts")
    tops = sorted((st[0].get("function"), st[0].get("line")) for st in
                  (group.get("stack", []) for group in report.get("leaks", [])
                   if group.get("kind") == "checkout") if st)
    eq(tops, [("first", 5), ("second", 7)],
       "each group's stack starts at its own line in the program, not in poolwatch's module")

    section("a connection returned with a transaction open, rolled back by the pool")
    r = run_python("""
        import sys, sqlalchemy
        engine = sqlalchemy.create_engine(sys.argv[1])
        raw = engine.raw_connection()
        cur = raw.cursor()
        cur.execute("create temporary table t (x int)")
        raw.close()  # back to the pool, uncommitted: rolled back
        raw = engine.raw_connection()
        raw.commit()
        raw.close()
    """, args=[URL])
    report = r.only_report()
    found = findings(report, "checkin_in_transaction")
    eq(len(found), 1, "one checkin_in_transaction finding")
    eq(get(found[0] if found else {}, "count"), 1, "it happened once")


main(test)
