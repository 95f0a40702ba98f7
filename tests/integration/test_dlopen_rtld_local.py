"""libpq loaded by dlopen(RTLD_LOCAL) from a module, the way Python loads
psycopg2 and Perl loads DBD::Pg: dlsym(RTLD_NEXT) cannot see libpq there.
The host must run as without the shim, and the module's two kept
connections must be reported, with the module's own frames."""
from pwtest import check, eq, get, leak_groups, leaked_from, main, pool, program, run, section, check_stack_frame


def test():
    section("without the shim")
    plain = run([program("dlopen_local")], preload=False, outdir=False)
    eq(plain.status, 0, "exit status")

    section("under the shim")
    r = run([program("dlopen_local")])
    eq(r.status, 0, "exit status")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    report = r.only_report()
    if not report:
        return
    eq(get(report, "summary.leaked_connections"), 2, "summary.leaked_connections")
    eq(leaked_from(report, "dlmod_leak"), 2, "leaked through dlmod_leak")
    eq(leaked_from(report, "dlmod_clean"), 0, "leaked through dlmod_clean")
    groups = leak_groups(report, "dlmod_open")
    if check(groups, "a leak group has a frame in dlmod_open"):
        check_stack_frame(groups[0].get("stack"), "dlmod_open", "dlmod.c", "dlmod_open", "/libpwtest_dlmod.so")
    p = pool(report)
    eq(get(p, "counters.connects"), 3, "counters.connects")
    eq(get(p, "counters.closes"), 1, "counters.closes")
    eq(get(p, ["metrics", "pool.size"]), 2, "pool.size")


main(test)
