"""pg_dump -j 2 forks two workers; each inherits the leader's connection and
opens its own. Every process writes its own report, and none has a leak:
the inherited connection is the leader's, which finishes it."""
import os

from pwtest import check, eq, fresh_database, get, main, pg_bin, run, section, tmpdir


def test():
    section("setup: tables to dump (without the shim)")
    db = fresh_database("pwtest_dump")
    setup = run([pg_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                 "create table dump_a as select generate_series(1, 1000) as id;"
                 "create table dump_b as select generate_series(1, 1000) as id;"],
                env=db, preload=False, outdir=False)
    if not eq(setup.status, 0, "psql setup exit status"):
        return

    dump = os.path.join(tmpdir(), "dump")
    r = run([pg_bin("pg_dump"), "-j", "2", "-Fd", "-f", dump], env=db)
    eq(r.status, 0, "exit status")
    eq(r.stdout, "", "stdout (pg_dump -f writes nothing there)")
    check(os.path.exists(os.path.join(dump, "toc.dat")), "the dump has a toc.dat")
    check(not r.report_errors, "every report is valid JSON", r.report_errors)
    eq(len(r.reports), 3, "reports (leader and two workers)")
    leaders = [pid for pid, rep in r.reports.items() if rep.get("ppid") not in r.reports]
    eq(len(leaders), 1, "one report is the leader's")
    for pid, report in sorted(r.reports.items()):
        role = "leader" if pid in leaders else "worker"
        section("%s %d" % (role, pid))
        if role == "worker":
            eq(report.get("ppid"), leaders[0] if leaders else None, "ppid is the leader")
        eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections")
        eq(get(report, "summary.findings"), 0, "summary.findings")


main(test)
