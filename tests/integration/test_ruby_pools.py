"""Ruby support loaded with RUBYOPT=-rpoolwatch, as README says for plain
LD_PRELOAD, and injected by `poolwatch run`: the census counts a
connection kept to the end as leaked although ruby-pg's finalizer closes
it (and the gate fails), not one the program's own at_exit closes; an
ActiveRecord pool of 2 whose third checkout times out is pool_exhausted
with its two holders at their .rb line, a checkin with a transaction open
is checkin_in_transaction, and the pool's metrics are ActiveRecord's."""
import os

from langframes import check_source_frame, source_frame
from pwtest import LIB, PROGRAMS_SRC, check, eq, findings, get, main, run, section

PROGRAM = "ruby_pools.rb"
SUPPORT = os.path.join(os.path.dirname(LIB), "poolwatch", "ruby")
RUBYOPT = "-I%s -rpoolwatch" % SUPPORT
POOLWATCH = os.environ.get("PWTEST_POOLWATCH", "")


def run_ruby(mode, env=None):
    section(mode)
    e = {"RUBYOPT": RUBYOPT}
    e.update(env or {})
    r = run(["ruby", os.path.join(PROGRAMS_SRC, PROGRAM), mode], env=e)
    check(r.stdout.endswith("ruby_pools %s done\n" % mode), "the program ran to its end", r.stdout)
    return r


def leaked_items(report):
    return [i for g in report.get("leaks", []) if g.get("kind") == "connection" for i in g.get("items", [])]


def test():
    r = run_ruby("leak", env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 23, "exit status: the gate fails on the leak")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 1, "the connection kept to the end is leaked")
    eq([i.get("closed_by") for i in leaked_items(report)], ["shutdown"], "closed_by: shutdown (ruby-pg's finalizer)")
    group = (report.get("leaks") or [{}])[0]
    check_source_frame(group.get("stack", []), "leak_here", "ruby", PROGRAM, "census")

    r = run_ruby("closed_at_exit", env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "exit status: closed by the program's own at_exit, no leak")
    eq(get(r.only_report(), "summary.leaked_connections"), 0, "no leak")

    r = run_ruby("pool")
    check("timed out: ActiveRecord::ConnectionTimeoutError" in r.stdout, "the program saw the timeout", r.stdout)
    report = r.only_report()
    pools = [p for p in report.get("pools", []) if p.get("kind") == "activerecord"]
    eq(len(pools), 1, "one pool of kind activerecord")
    p = pools[0] if pools else {}
    eq(p.get("name"), "primary", "named after its database configuration")
    eq(get(p, "configured_size"), 2, "configured_size (pool: 2)")
    eq(get(p, "max_size"), 2, "max_size")
    eq(get(p, "peaks.max_checkedout"), 2, "peak pool.checkedout")
    eq(get(p, "counters.checkouts"), 2, "checkouts")
    eq(get(p, "counters.failed_checkouts"), 1, "failed checkouts: the timeout")
    eq(get(p, "counters.checkins"), 2, "checkins")
    for metric in ("pool.size", "pool.checkedout", "pool.checkedin", "pool.overflow", "pool.wait_time"):
        check(metric in (p.get("metrics") or {}), "metric %s is reported" % metric, sorted(p.get("metrics") or {}))
    exhausted = findings(report, "pool_exhausted")
    eq(len(exhausted), 1, "one pool_exhausted finding")
    holders = exhausted[0].get("holders", []) if exhausted else []
    eq(sum(h.get("count", 0) for h in holders), 2, "its holders: the two checkouts")
    for h in holders:
        check_source_frame(h.get("stack", []), "hold", "ruby", PROGRAM, "holder")
    if exhausted:
        check_source_frame(exhausted[0].get("stack", []), "<main>", "ruby", PROGRAM, "timeout")
    eq(len(findings(report, "checkin_in_transaction")), 1, "the checkin with BEGIN open is checkin_in_transaction")
    eq(findings(report, "pool_not_closed"), [], "no pool_not_closed: nobody disconnects ActiveRecord at exit")
    eq(get(report, "summary.leaked_connections"), 0, "the pool's idle connections are not libpq leaks")

    section("poolwatch run injects RUBYOPT")
    r = run([POOLWATCH, "run", "--", "ruby", os.path.join(PROGRAMS_SRC, PROGRAM), "leak"], preload=False)
    eq(r.status, 0, "exit status (run is the gate only when asked)")
    reports = list(r.reports.values())
    check(reports and get(reports[0], "summary.leaked_connections") == 1,
          "the census ran: the connection kept to the end is leaked", [get(x, "summary") for x in reports])


main(test)
