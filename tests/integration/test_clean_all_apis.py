"""A correct program that uses every libpq connection API (blocking, async
with poll and select, pings, both resets) gets a clean report: one summary
line on stderr, no leaks, no findings, and counters that count each
connection once even though libpq calls its own exported functions."""
from pwtest import check, eq, get, main, pool, program, run, section


def test():
    section("without the shim")
    plain = run([program("clean_all_apis")], preload=False, outdir=False)
    eq(plain.status, 0, "exit status")
    eq(plain.stdout, "clean_all_apis done\n", "stdout")

    section("under the shim")
    r = run([program("clean_all_apis")])
    eq(r.status, 0, "exit status")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    lines = r.stderr.splitlines()
    eq(len(lines), 2, "stderr lines")
    check(lines and lines[0].startswith("poolwatch: no leaks"), "stderr says 'poolwatch: no leaks'", lines)
    eq(lines[-1], "SUMMARY: poolwatch: 0 leaked connections, 0 leaked checkouts in 0 groups, "
       "0 findings (0 suppressed)", "the last line is the SUMMARY line")

    report = r.only_report()
    if not report:
        return
    for key in ("leaked_connections", "leaked_checkouts", "leak_groups", "suppressed", "findings"):
        eq(get(report, "summary." + key), 0, "summary." + key)
    eq(report.get("leaks"), [], "leaks")
    eq(report.get("findings"), [], "findings")

    p = pool(report, "libpq")
    # PQconnectdb, PQconnectdbParams, PQsetdbLogin, PQconnectStart and
    # PQconnectStartParams: five connections. Pings are not connections;
    # PQreset and PQresetStart reconnect the same connection.
    eq(get(p, "counters.connects"), 5, "counters.connects")
    eq(get(p, "counters.failed_connects"), 0, "counters.failed_connects")
    eq(get(p, "counters.closes"), 5, "counters.closes")
    eq(get(p, "counters.reconnects"), 2, "counters.reconnects")
    eq(get(p, ["metrics", "pool.size"]), 0, "pool.size at exit")
    eq(get(p, "peaks.max_size"), 1, "peaks.max_size (one connection at a time)")


main(test)
