"""dlopen and dlclose of a libpq-using module in a loop on one thread while
three others connect and finish through another module; then the loop
alone, where libpq itself is unloaded and loaded again each time. No
crash, and every connect and close counted exactly."""
from pwtest import eq, get, main, pool, program, run, section

LOOPS, THREADS, PER_THREAD = 150, 3, 50


def test():
    argv = [program("dl_loop"), program("libpwtest_dlmod.so"), program("libpwtest_dlmod_loop.so"),
            str(LOOPS), str(THREADS), str(PER_THREAD)]
    section("under the shim")
    r = run(argv)
    eq(r.status, 0, "exit status")
    eq(r.stdout.strip(), "dl_loop done: 0 failures", "every connect through every module worked")
    report = r.only_report()
    expected = 2 * LOOPS + THREADS * PER_THREAD
    eq(get(pool(report), "counters.connects"), expected, "counters.connects")
    eq(get(pool(report), "counters.closes"), expected, "counters.closes")
    eq(get(report, "summary.leaked_connections"), 0, "no leaks")
    eq([l for l in r.stderr.splitlines() if "warning" in l], [], "no warnings")


main(test)
