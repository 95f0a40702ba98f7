"""A libzdb pool checked out past its maximum: two checkouts leak from one
call site, a third is returned inside a transaction (libzdb rolls it back),
a fourth fails because the pool is exhausted, and the pool is never
stopped. The report has the exact metrics, the holders and the findings."""
from pwtest import (check, check_stack_frame, eq, findings, functions, get, leak_groups, main,
                    pool, program, run, section)


def test():
    r = run([program("zdb_pool"), "exhaust"])
    eq(r.status, 0, "exit status")
    eq(r.stdout, "checkouts 1 1 1 0\n", "stdout (the fourth checkout failed)")
    report = r.only_report()

    section("metrics")
    p = pool(report, "libzdb")
    eq(get(p, "kind"), "libzdb", "kind")
    eq(get(p, "configured_size"), 2, "configured_size (initial connections)")
    eq(get(p, "max_size"), 3, "max_size (max connections)")
    eq(get(p, ["metrics", "pool.size"]), 3, "pool.size")
    eq(get(p, ["metrics", "pool.checkedout"]), 2, "pool.checkedout")
    eq(get(p, ["metrics", "pool.checkedin"]), 1, "pool.checkedin")
    eq(get(p, ["metrics", "pool.overflow"]), 1, "pool.overflow (size 3 over 2 configured)")
    eq(get(p, "counters.connects"), 3, "counters.connects")
    eq(get(p, "counters.checkouts"), 3, "counters.checkouts")
    eq(get(p, "counters.failed_checkouts"), 1, "counters.failed_checkouts")
    eq(get(p, "counters.checkins"), 1, "counters.checkins")
    eq(get(p, "peaks.max_checkedout"), 3, "peaks.max_checkedout")
    eq(get(p, "wait_time.count"), 4, "wait_time.count (every checkout call, failed one included)")
    eq(get(p, "hold_time.count"), 1, "hold_time.count")
    check(all(pp.get("name") != "libpq" for pp in report.get("pools", [])),
          "the pool's own connections are not in the libpq pool")

    section("leaks")
    eq(get(report, "summary.leaked_checkouts"), 2, "summary.leaked_checkouts")
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections (idle pool connections are not leaks)")
    groups = leak_groups(report, "checkout_for_report", kind="checkout")
    eq([g.get("count") for g in groups], [2], "one group of 2 checkouts from checkout_for_report")
    if groups:
        eq(groups[0].get("pool"), "libzdb", "leak group pool")
        check_stack_frame(groups[0].get("stack"), "checkout_for_report", "zdb_pool.c", "report_checkout", "zdb_pool")
        eq(functions(groups[0].get("stack"))[:1], ["checkout_for_report"], "first frame is the program's")

    section("findings")
    exhausted = findings(report, "pool_exhausted")
    eq(len(exhausted), 1, "one pool_exhausted finding")
    if exhausted:
        holders = sorted((h.get("count"), functions(h.get("stack"))[0]) for h in exhausted[0].get("holders", []))
        eq(holders, [(1, "checkout_for_visit"), (2, "checkout_for_report")], "holders by stack at that moment")
    in_tx = findings(report, "checkin_in_transaction")
    eq(len(in_tx), 1, "one checkin_in_transaction finding")
    if in_tx:
        eq(functions(in_tx[0].get("stack"))[:1], ["exhaust"], "checkin stack starts in exhaust")
        eq(functions(in_tx[0].get("other_stack"))[:1], ["checkout_for_visit"], "its checkout stack")
    eq(len(findings(report, "pool_not_closed")), 1, "one pool_not_closed finding")
    eq(len(findings(report, "double_checkin")), 0, "no double_checkin (Connection_close's inner return is not a second checkin)")


main(test)
