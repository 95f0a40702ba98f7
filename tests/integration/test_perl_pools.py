"""Perl support loaded with PERL5OPT=-MPoolwatch, as README says for plain
LD_PRELOAD, and injected by `poolwatch run`: the census counts a handle
kept to the end as leaked although global destruction disconnects it (and
the gate fails), not one the program's own END block disconnects; DBI's
connect_cached is a pool of kind dbi whose one cached connection is not a
leak, and a handle handed out again with a transaction open is
checkin_in_transaction."""
import os

from langframes import check_source_frame
from pwtest import LIB, PROGRAMS_SRC, check, eq, findings, get, main, run, section

PROGRAM = "perl_pools.pl"
SUPPORT = os.path.join(os.path.dirname(LIB), "poolwatch", "perl")
PERL5OPT = "-I%s -MPoolwatch" % SUPPORT
POOLWATCH = os.environ.get("PWTEST_POOLWATCH", "")


def run_perl(mode, env=None):
    section(mode)
    e = {"PERL5OPT": PERL5OPT}
    e.update(env or {})
    r = run(["perl", os.path.join(PROGRAMS_SRC, PROGRAM), mode], env=e)
    check(r.stdout.endswith("perl_pools %s done\n" % mode), "the program ran to its end", r.stdout)
    return r


def test():
    r = run_perl("leak", env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 23, "exit status: the gate fails on the leak")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 1, "the handle kept to the end is leaked")
    items = [i for g in report.get("leaks", []) for i in g.get("items", [])]
    eq([i.get("closed_by") for i in items], ["shutdown"], "closed_by: shutdown (global destruction)")
    check_source_frame((report.get("leaks") or [{}])[0].get("stack", []), "main::leak_here", "perl", PROGRAM,
                       "census")

    r = run_perl("closed_in_end", env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "exit status: disconnected by the program's own END block, no leak")
    eq(get(r.only_report(), "summary.leaked_connections"), 0, "no leak")

    r = run_perl("cached", env={"POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "exit status: a cached handle is not a leak")
    check("one handle\n" in r.stdout, "connect_cached handed out one handle", r.stdout)
    report = r.only_report()
    pools = [p for p in report.get("pools", []) if p.get("kind") == "dbi"]
    eq(len(pools), 1, "one pool of kind dbi")
    p = pools[0] if pools else {}
    eq(p.get("name"), "dbi:Pg:", "named after the data source")
    eq(get(p, "counters.checkouts"), 3, "checkouts: the three connect_cached calls")
    eq(get(p, "peaks.max_size"), 1, "one cached connection")
    eq(len(findings(report, "checkin_in_transaction")), 1, "handed out again with a transaction open")
    eq(findings(report, "pool_not_closed"), [], "no pool_not_closed: DBI's cache lives to the end by design")
    eq(get(report, "summary.leaked_connections"), 0, "the cached connection is not a libpq leak")

    section("poolwatch run injects PERL5OPT")
    r = run([POOLWATCH, "run", "--", "perl", os.path.join(PROGRAMS_SRC, PROGRAM), "leak"], preload=False)
    reports = list(r.reports.values())
    check(reports and get(reports[0], "summary.leaked_connections") == 1,
          "the census ran: the handle kept to the end is leaked", [get(x, "summary") for x in reports])


main(test)
