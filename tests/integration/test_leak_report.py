"""The leak report a developer reads: leak_basic leaks 2 connections from
open_report_db, 1 from open_session and 1 failed connection from
open_missing_db; the report must say exactly that, with file:line, and its
metrics and counters must match what the program did."""
import os
import re
import time
from datetime import datetime

from pwtest import (check, eq, get, leak_groups, leaked_from, main, pool, program, run, section, tmpdir,
                    check_stack_frame)

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"


def check_shape(report, r):
    section("report header")
    eq(report.get("tool"), "poolwatch", "tool")
    eq(report.get("schema"), 1, "schema")
    check(re.fullmatch(r"\d+\.\d+\.\d+.*", str(report.get("version"))), "version looks like X.Y.Z",
          report.get("version"))
    check(report.get("pid") in r.reports, "pid matches the file name", report.get("pid"))
    check(isinstance(report.get("ppid"), int), "ppid is a number", report.get("ppid"))
    check(str(report.get("program", "")).endswith("/leak_basic"), "program is leak_basic", report.get("program"))
    check(str(get(report, ["argv", 0], "")).endswith("leak_basic"), "argv[0] is leak_basic", report.get("argv"))
    for key in ("started_at", "ended_at"):
        check(re.fullmatch(RFC3339, str(report.get(key))), "%s is RFC 3339" % key, report.get(key))


def check_leaks(report):
    section("leak groups")
    summary = report.get("summary", {})
    eq(summary.get("leaked_connections"), 4, "summary.leaked_connections")
    eq(summary.get("leaked_checkouts"), 0, "summary.leaked_checkouts")
    eq(summary.get("leak_groups"), 3, "summary.leak_groups")
    eq(summary.get("suppressed"), 0, "summary.suppressed")
    eq(summary.get("findings"), 0, "summary.findings")
    leaks = report.get("leaks", [])
    eq(len(leaks), 3, "number of leak groups")
    eq(get(leaks, [0, "count"]), 2, "largest group comes first: leaks[0].count")
    check(all(g.get("pool") == "libpq" and g.get("kind") == "connection" for g in leaks),
          "every group is a libpq connection leak", [(g.get("pool"), g.get("kind")) for g in leaks])
    check(all(g.get("suppressed") is False for g in leaks), "no group is suppressed")

    for function, count, connected in (("open_report_db", 2, True), ("open_session", 1, True),
                                       ("open_missing_db", 1, False)):
        groups = leak_groups(report, function)
        eq(len(groups), 1, "groups through %s" % function)
        eq(leaked_from(report, function), count, "connections leaked from %s" % function)
        if not groups:
            continue
        group = groups[0]
        stack = group.get("stack", [])
        eq(get(stack, [0, "function"]), function, "frame #0 of the %s group (the caller, not libpq)" % function)
        eq(get(stack, [1, "function"]), "main", "frame #1 of the %s group" % function)
        check(not any("poolwatch" in str(f.get("module", "")) for f in stack),
              "no shim frames in the %s stack" % function)
        check_stack_frame(stack, function, "leak_basic.c", function, "/leak_basic")
        age = group.get("oldest_age_s")
        check(isinstance(age, (int, float)) and 0 <= age < 120, "%s oldest_age_s is a plausible age" % function, age)
        items = group.get("items", [])
        eq(len(items), count, "items listed for %s" % function)
        eq([i.get("connected") for i in items], [connected] * count, "connected flags for %s" % function)
        for item in items:
            check(re.fullmatch(RFC3339, str(item.get("opened_at"))), "item opened_at is RFC 3339", item)
            check(isinstance(item.get("thread"), int), "item thread is a number", item)
            check(isinstance(item.get("conninfo"), str), "item conninfo is a string", item)
    missing = leak_groups(report, "open_missing_db")
    if missing:
        check("no_such_db" in get(missing[0], ["items", 0, "conninfo"], ""),
              "the failed connection's conninfo names dbname=no_such_db", missing[0].get("items"))


def check_pool(report):
    section("pool metrics and counters")
    p = pool(report, "libpq")
    eq(p.get("kind"), "libpq", "pool kind")
    # Three successful connections remain open; the failed one holds no
    # server connection and is not counted.
    eq(get(p, ["metrics", "pool.size"]), 3, "pool.size")
    eq(get(p, ["metrics", "pool.checkedout"]), 3, "pool.checkedout")
    eq(get(p, ["metrics", "pool.checkedin"]), 0, "pool.checkedin")
    eq(get(p, ["metrics", "pool.overflow"]), 0, "pool.overflow without POOLWATCH_POOL_SIZE")
    check(isinstance(get(p, ["metrics", "pool.wait_time"]), (int, float)), "pool.wait_time is a number")
    # Peak: three report connections, one finished, session (3), params (4).
    eq(get(p, "peaks.max_size"), 4, "peaks.max_size")
    eq(get(p, "peaks.max_checkedout"), 4, "peaks.max_checkedout")
    # connects counts every attempt, failed_connects the failed among them.
    eq(get(p, "counters.connects"), 7, "counters.connects")
    eq(get(p, "counters.failed_connects"), 1, "counters.failed_connects")
    eq(get(p, "counters.closes"), 3, "counters.closes")
    eq(get(p, "counters.reconnects"), 0, "counters.reconnects")
    for dist in ("wait_time", "hold_time", "connect_time"):
        d = p.get(dist, {})
        values = [d.get(k) for k in ("count", "mean", "max", "p50", "p95", "p99")]
        if not check(all(isinstance(v, (int, float)) for v in values), "%s has count, mean, max, p50, p95, p99" % dist, d):
            continue
        count, mean, high, p50, p95, p99 = values
        check(0 <= p50 <= p95 <= p99 <= high and mean <= high, "%s percentiles are ordered" % dist, d)
    check(get(p, "connect_time.count", 0) >= 6, "connect_time counts every connect", p.get("connect_time"))


def check_times(report, launched, finished):
    """started_at is the program's start (to the kernel's 10 ms tick), not
    its first connect; ended_at its exit."""
    section("report times")
    try:
        started, ended = (datetime.fromisoformat(report[k]).timestamp() for k in ("started_at", "ended_at"))
    except (KeyError, TypeError, ValueError) as e:
        check(False, "started_at and ended_at parse", e)
        return
    check(launched - 0.05 <= started <= ended <= finished + 0.05,
          "launch <= started_at <= ended_at <= the program's end",
          (launched, started, ended, finished))


def test():
    launched = time.time()
    r = run([program("leak_basic")])
    check_times(r.only_report() or {}, launched, time.time())
    eq(r.status, 0, "exit status")
    eq(r.stdout, "leak_basic done\n", "stdout is the program's own")
    report = r.only_report()
    if not report:
        return
    check_shape(report, r)
    check_leaks(report)
    check_pool(report)

    section("text report")
    for function in ("open_report_db", "open_session", "open_missing_db"):
        check(function in r.stderr, "stderr names %s" % function)
    check("leak_basic.c:" in r.stderr, "stderr shows file:line")
    pid = report.get("pid")
    names = ["poolwatch-%s.json" % pid, "poolwatch-%s.txt" % pid, "poolwatch-%s.dashboard.json" % pid]
    eq(r.files, sorted(names), "files written")
    if "poolwatch-%s.txt" % pid in r.files:
        check(r.read("poolwatch-%s.txt" % pid).strip() in r.stderr, "the .txt file is the report printed on stderr")

    section("POOLWATCH_POOL_SIZE gives pool.overflow")
    r = run([program("leak_basic")], env={"POOLWATCH_POOL_SIZE": "2"})
    p = pool(r.only_report(), "libpq")
    eq(p.get("configured_size"), 2, "configured_size")
    eq(get(p, ["metrics", "pool.overflow"]), 1, "pool.overflow (3 open, size 2)")

    section("POOLWATCH_QUIET=1: files but nothing on stderr")
    r = run([program("leak_basic")], env={"POOLWATCH_QUIET": "1"})
    eq(r.stderr, "", "stderr")
    eq(get(r.only_report(), "summary.leaked_connections"), 4, "summary.leaked_connections")

    section("without POOLWATCH_OUTPUT_DIR: report on stderr, no files")
    cwd = tmpdir()
    r = run([program("leak_basic")], outdir=False, cwd=cwd)
    check("open_report_db" in r.stderr, "stderr names open_report_db")
    eq(os.listdir(cwd), [], "files in the working directory")


main(test)
