"""A home-grown pool annotated with poolwatch.h (examples/leaky_pool over
examples/queue_pool): without the shim it runs exactly as with it; under
the shim its leaked checkouts, exhaustion and metrics are reported."""
import os

from pwtest import check, eq, findings, functions, get, leaked_from, main, pool, run

EXAMPLE = os.path.join(os.environ.get("PWTEST_EXAMPLES_BIN", ""), "leaky_pool")


def test():
    bare = run([EXAMPLE], preload=False, outdir=False)
    shim = run([EXAMPLE])
    eq(bare.status, 0, "exit status without the shim")
    eq(shim.status, bare.status, "exit status unchanged under the shim")
    eq(shim.stdout, bare.stdout, "stdout unchanged under the shim")
    eq(bare.stdout, "8 requests, 2 found, 3 timed out\n", "what the example prints")
    eq(bare.stderr.count("pool limit reached"), 3, "timeouts without the shim")

    report = shim.only_report()
    p = pool(report, "orders")
    eq(get(p, "kind"), "api", "kind")
    eq(get(p, "configured_size"), 2, "configured_size")
    eq(get(p, "max_size"), 3, "max_size")
    eq(get(p, ["metrics", "pool.size"]), 3, "pool.size")
    eq(get(p, ["metrics", "pool.checkedout"]), 3, "pool.checkedout")
    eq(get(p, ["metrics", "pool.overflow"]), 1, "pool.overflow")
    eq(get(p, "counters.checkouts"), 5, "counters.checkouts")
    eq(get(p, "counters.failed_checkouts"), 3, "counters.failed_checkouts")
    eq(get(p, "counters.checkins"), 2, "counters.checkins")
    check(get(p, "wait_time.max", 0) >= 0.15, "a timed-out checkout waited about 200 ms",
          "wait_time.max %r" % get(p, "wait_time.max"))
    eq(leaked_from(report, "user_exists", kind="checkout"), 3, "leaked checkouts through user_exists")
    eq(get(report, "summary.leaked_connections"), 0, "the leaked PGconns are reported once, as checkouts")
    exhausted = findings(report, "pool_exhausted")
    eq([f.get("count") for f in exhausted], [3], "pool_exhausted 3 times, one call site")
    if exhausted:
        check("queue_pool_get" in functions(exhausted[0].get("stack")), "exhausted stack is in queue_pool_get")
        eq(sum(h.get("count", 0) for h in exhausted[0].get("holders", [])), 3, "3 holders at that moment")
    check(all(pp.get("name") != "libpq" for pp in report.get("pools", [])),
          "connections the pool opened with libpq belong to the pool, not to libpq")


main(test)
