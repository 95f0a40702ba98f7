"""A process that calls exec with a connection open writes its report
first: the image that held the connection is gone before any destructor
runs. The new image reports on its own, beside it, never over it. A failed
exec changes nothing: the process goes on and reports once, at exit."""
import re

from pwtest import check, eq, get, leaked_from, main, pool, program, run, section


def test():
    section("exec of a program that uses libpq too")
    plain = run([program("exec_open"), program("exec_open"), "--fail"], preload=False, outdir=False)
    r = run([program("exec_open"), program("exec_open"), "--fail"])
    eq(r.status, plain.status, "exit status is unchanged")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    names = sorted(r.image_reports)
    eq(len(names), 2, "two reports for one pid: %s" % names)
    first = next((rep for name, rep in r.image_reports.items() if re.fullmatch(r"poolwatch-\d+\.json", name)), {})
    second = next((rep for name, rep in r.image_reports.items() if re.search(r"\.2\.json$", name)), {})
    eq(first.get("reason"), "exec", "the first image's report says exec")
    eq(leaked_from(first, "open_before_exec"), 1, "its open connection is reported, at open_before_exec")
    eq(get(pool(first), "counters.closes"), 1, "the finished one is not")
    check("open at exec" in r.stderr, "the text says the connection was open at exec")
    eq(second.get("reason"), "exit", "the image after exec reports at exit, as poolwatch-PID.2.json")
    eq(get(second, "summary.leaked_connections"), 1, "with its own leak")

    section("exec of a program that does not use libpq")
    r = run([program("exec_open"), "/bin/true"])
    eq(r.status, 0, "exit status")
    eq(len(r.image_reports), 1, "one report")
    report = r.only_report()
    eq(report.get("reason"), "exec", "reason exec")
    eq(get(report, "summary.leaked_connections"), 1, "the connection open at exec")

    section("a failed exec")
    plain = run([program("exec_open"), "--fail"], preload=False, outdir=False)
    r = run([program("exec_open"), "--fail"])
    eq(r.status, plain.status, "exit status is unchanged")
    eq(r.stdout, plain.stdout, "stdout is unchanged (errno ENOENT reaches the program)")
    eq(len(r.image_reports), 1, "one report, no duplicate")
    report = r.only_report()
    eq(report.get("reason"), "exit", "written at exit")
    eq(len(re.findall(r"^poolwatch: 1 leaked connection in pool", r.stderr, re.M)), 1, "the leak is printed once")


main(test)
