"""psql under the shim prints exactly what it prints without it, and has no
leaks. Also through Debian's /usr/bin/psql, a Perl wrapper that execs the
real psql: the wrapper never uses libpq and writes nothing, psql reports."""
import os

from pwtest import check, eq, get, main, pg_bin, run, section


def check_psql(psql):
    argv = [psql, "-X", "-c", "select 1"]
    plain = run(argv, preload=False, outdir=False)
    eq(plain.status, 0, "exit status without the shim")
    r = run(argv)
    eq(r.status, 0, "exit status")
    eq(r.stdout, plain.stdout, "stdout is identical")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections")
    eq(get(report, "summary.findings"), 0, "summary.findings")
    return report


def test():
    section("psql")
    check_psql(pg_bin("psql"))

    wrapper = "/usr/bin/psql"
    if os.path.realpath(wrapper).endswith("pg_wrapper"):
        section("Debian's psql wrapper (exec)")
        report = check_psql(wrapper)
        check(str(report.get("program", "")).endswith("/psql") and "pg_wrapper" not in str(report.get("program")),
              "the report is the real psql's", report.get("program"))


main(test)
