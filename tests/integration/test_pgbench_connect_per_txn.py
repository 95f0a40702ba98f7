"""pgbench -C opens a new connection for every transaction: a high connect
and finish rate in a real program. No false leaks or findings, the exit
status is unchanged, and pgbench's own output has the same shape."""
from pwtest import check, eq, fresh_database, get, main, mask_numbers, pg_bin, pool, run, section

CLIENTS, TRANSACTIONS = 2, 50


def test():
    pgbench = pg_bin("pgbench")
    section("pgbench -i (setup, without the shim)")
    db = fresh_database("pwtest_pgbench")
    init = run([pgbench, "-i", "-q"], env=db, preload=False, outdir=False)
    if not eq(init.status, 0, "pgbench -i exit status"):
        return

    argv = [pgbench, "-C", "-c", CLIENTS, "-t", TRANSACTIONS]
    section("without the shim")
    plain = run(argv, env=db, preload=False, outdir=False)
    eq(plain.status, 0, "exit status")

    section("under the shim")
    r = run(argv, env=db)
    eq(r.status, 0, "exit status")
    eq(mask_numbers(r.stdout), mask_numbers(plain.stdout), "stdout has the same shape (numbers masked)")
    check(any(l.startswith("poolwatch: no leaks") for l in r.stderr.splitlines()), "stderr says 'poolwatch: no leaks'")
    report = r.only_report()
    if not report:
        return
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections")
    eq(get(report, "summary.findings"), 0, "summary.findings")
    p = pool(report)
    connects = get(p, "counters.connects", 0)
    check(connects >= CLIENTS * TRANSACTIONS, "a connect per transaction: counters.connects %s >= %d"
          % (connects, CLIENTS * TRANSACTIONS))
    eq(get(p, "counters.closes"), connects, "counters.closes equals counters.connects")
    eq(get(p, "counters.failed_connects"), 0, "counters.failed_connects")
    eq(get(p, ["metrics", "pool.size"]), 0, "pool.size at exit")


main(test)
