"""PQfinish twice on one connection: reported as a double_finish finding at
the second call, and the second call is not forwarded to libpq (it would be
a use-after-free), so the program runs on normally. Only run under the
shim: without it the program's behaviour is undefined."""
from pwtest import check, eq, findings, get, main, pool, program, run, check_stack_frame


def test():
    r = run([program("double_finish")])
    eq(r.status, 0, "exit status")
    eq(r.stdout, "double_finish done\n", "stdout")
    report = r.only_report()
    if not report:
        return
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections")
    eq(get(report, "summary.findings"), 1, "summary.findings")
    found = findings(report, "double_finish")
    eq(len(found), 1, "double_finish findings")
    if found:
        eq(found[0].get("pool"), "libpq", "finding pool")
        eq(found[0].get("count"), 1, "finding count")
        check_stack_frame(found[0].get("stack"), "close_twice", "double_finish.c", "second_finish", "/double_finish")
    check("close_twice" in r.stderr, "stderr names close_twice")
    p = pool(report)
    eq(get(p, "counters.connects"), 1, "counters.connects")
    eq(get(p, "counters.closes"), 1, "counters.closes (the second finish is not a close)")


main(test)
