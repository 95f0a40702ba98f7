"""Two copies of libpq in one process, each reached through a module
loaded with RTLD_LOCAL: the system libpq, and a stand-in library of the
tests' own (standin_libpq.c) whose PGconn is its own struct. A call
forwarded to the wrong copy aborts the program, so the same output and
status as without the shim mean every call reached its own copy; both are
tracked."""
from pwtest import check, eq, get, leaked_from, main, pool, program, run, section


def test():
    argv = [program("two_copies"), program("libpwtest_dlmod.so"), program("libpwtest_dlmod_standin.so")]
    section("without the shim")
    plain = run(argv, preload=False, outdir=False)
    eq(plain.status, 0, "exit status")

    section("under the shim")
    r = run(argv)
    eq(r.status, 0, "exit status")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    check("standin:" not in r.stderr, "no PGconn reached the wrong copy", r.stderr)
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 3, "leaks from both copies (1 + 2)")
    eq(leaked_from(report, "dlmod_open"), 3, "all leaked at dlmod_open")
    modules = {f.get("module", "").rsplit("/", 1)[-1]
               for leak in report.get("leaks", []) for f in leak.get("stack", [])}
    check({"libpwtest_dlmod.so", "libpwtest_dlmod_standin.so"} <= modules,
          "leaks are reported from both modules", sorted(modules))
    eq(get(pool(report), "counters.connects"), 5, "counters.connects (2 + 3)")
    eq(get(pool(report), "counters.closes"), 2, "counters.closes")


main(test)
