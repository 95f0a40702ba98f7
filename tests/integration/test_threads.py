"""Many threads connecting and finishing at once, and connections finished by
a thread other than the one that opened them: no leaks, no false findings
(a freed PGconn address is reused at once by another thread), and every
connect and close counted exactly once."""
from pwtest import eq, get, main, pool, program, run, section

THREADS, PER_THREAD = 8, 25


def test():
    total = THREADS * PER_THREAD
    for mode in ([], ["handoff"]):
        section("threads %d %d %s" % (THREADS, PER_THREAD, " ".join(mode)))
        r = run([program("threads"), THREADS, PER_THREAD] + mode)
        eq(r.status, 0, "exit status")
        eq(r.stdout.startswith("threads done: %d connections" % total), True, "stdout reports %d connections" % total)
        report = r.only_report()
        if not report:
            continue
        eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections")
        eq(get(report, "summary.findings"), 0, "summary.findings")
        p = pool(report, "libpq")
        eq(get(p, "counters.connects"), total, "counters.connects")
        eq(get(p, "counters.closes"), total, "counters.closes")
        eq(get(p, ["metrics", "pool.size"]), 0, "pool.size at exit")
        max_size = get(p, "peaks.max_size", 0)
        eq(1 <= max_size <= total, True, "1 <= peaks.max_size (%s) <= %d" % (max_size, total))


main(test)
