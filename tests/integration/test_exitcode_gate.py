"""The CI gate: POOLWATCH_EXITCODE replaces the exit status when unsuppressed
leaks remain, and only then. Suppressed leaks are counted in
summary.suppressed, not in the leak counts, and do not trip the gate."""
import os

from pwtest import check, eq, get, main, program, run, section, tmpdir


def suppressions(*lines):
    path = os.path.join(tmpdir(), "poolwatch.supp")
    with open(path, "w") as f:
        f.write("# leak_basic leaks these on purpose\n\n" + "\n".join(lines) + "\n")
    return path


def test():
    leak_basic = program("leak_basic")

    section("leaks, POOLWATCH_EXITCODE=23")
    r = run([leak_basic], env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 23, "exit status")
    eq(r.stdout, "leak_basic done\n", "stdout is the program's own")

    section("leaks, no POOLWATCH_EXITCODE")
    eq(run([leak_basic]).status, 0, "exit status is the program's own")

    section("every leak suppressed by function")
    supp = suppressions("leak:open_report_db", "leak:open_session", "leak:open_missing_db")
    r = run([leak_basic], env={"POOLWATCH_EXITCODE": "23", "POOLWATCH_SUPPRESSIONS": supp})
    eq(r.status, 0, "exit status is the program's own")
    report = r.only_report()
    eq(get(report, "summary.suppressed"), 4, "summary.suppressed")
    eq(get(report, "summary.leaked_connections"), 0, "summary.leaked_connections")
    check(all(g.get("suppressed") is True for g in report.get("leaks", [])), "every leak group is marked suppressed",
          [g.get("suppressed") for g in report.get("leaks", [])])

    section("every leak suppressed by file, with a wildcard")
    r = run([leak_basic], env={"POOLWATCH_EXITCODE": "23", "POOLWATCH_SUPPRESSIONS": suppressions("leak:*leak_basic.c")})
    eq(r.status, 0, "exit status is the program's own")
    eq(get(r.only_report(), "summary.suppressed"), 4, "summary.suppressed")

    section("some leaks suppressed")
    r = run([leak_basic], env={"POOLWATCH_EXITCODE": "23", "POOLWATCH_SUPPRESSIONS": suppressions("leak:open_report*")})
    eq(r.status, 23, "exit status (two leaks remain)")
    report = r.only_report()
    eq(get(report, "summary.suppressed"), 2, "summary.suppressed")
    eq(get(report, "summary.leaked_connections"), 2, "summary.leaked_connections")

    section("no leaks, POOLWATCH_EXITCODE=23")
    eq(run([program("clean_all_apis")], env={"POOLWATCH_EXITCODE": "23"}).status, 0, "exit status of clean_all_apis")


main(test)
