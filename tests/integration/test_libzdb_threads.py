"""Eight threads doing tens of thousands of libzdb checkout/checkin pairs
under the shim: every checkout and checkin counted exactly once, no leaks,
no findings, no crash."""
from pwtest import check, eq, functions, get, main, pool, program, run

THREADS, PAIRS = 8, 5000


def test():
    r = run([program("zdb_pool"), "stress", THREADS, PAIRS])
    eq(r.status, 0, "exit status")
    eq(r.stdout, "pairs %d failed 0\n" % (THREADS * PAIRS), "stdout")
    report = r.only_report()
    p = pool(report, "libzdb")
    eq(get(p, "counters.checkouts"), THREADS * PAIRS, "counters.checkouts")
    eq(get(p, "counters.checkins"), THREADS * PAIRS, "counters.checkins")
    eq(get(p, "counters.failed_checkouts"), 0, "counters.failed_checkouts")
    eq(get(p, "hold_time.count"), THREADS * PAIRS, "hold_time.count")
    eq(get(p, ["metrics", "pool.checkedout"]), 0, "pool.checkedout")
    eq(get(p, ["metrics", "pool.size"]), 0, "pool.size after stop")
    eq(get(p, "counters.closes"), get(p, "counters.connects"), "every connection closed")
    eq(get(report, "summary.leaked_checkouts"), 0, "no leaked checkouts")
    eq(get(report, "summary.leaked_connections"), 0, "no leaked connections")
    eq(get(report, "summary.findings"), 0, "no findings")
    sites = report.get("call_sites", [])
    eq(sum(c.get("holds", 0) for c in sites), THREADS * PAIRS, "call_sites account for every hold")
    check(sites and "worker" in functions(sites[0].get("stack")), "the top call site is the workers' loop",
          [functions(c.get("stack"))[:2] for c in sites])


main(test)
