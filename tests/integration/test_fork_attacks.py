"""Forks in threaded parents. A thread of the parent calls localtime_r and
gmtime_r in a loop (glibc's time-zone lock) while the parent forks 400
children one after another; each child connects and finishes with the
event log on, so it formats a time at once, and exits. A child that
inherited the lock held would hang (it kills itself with SIGALRM after
20 s and is counted). poolwatch formats its times with its own UTC
arithmetic, so none hangs; the count must be exact."""
import datetime
import os
import re

from pwtest import check, eq, main, program, run, section, tmpdir


def test():
    section("400 forks while a thread holds the time-zone lock")
    d = tmpdir()
    log = os.path.join(d, "events.log")
    r = run([program("attacks"), "fork_gmtime", 400], env={"POOLWATCH_EVENT_LOG": log}, timeout=170)
    print(r.stdout.strip())
    eq(r.stdout, "children 400 ok 400 hung 0 other 0\n", "every child ended on its own")
    eq(r.status, 0, "the parent's exit status")
    with open(log) as f:
        lines = f.read().splitlines()
    closes = [l for l in lines if " close pool=libpq " in l]
    connects = [l for l in lines if " connect pool=libpq " in l]
    eq((len(connects), len(closes)), (401, 401), "each child's connect and close, and the parent's, are logged")
    # The times are poolwatch's own UTC arithmetic: they must agree with
    # the system's calendar.
    stamps = [l.split(" ", 1)[0] for l in lines]
    bad = [t for t in stamps if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t)]
    eq(bad, [], "every time stamp is ISO 8601 UTC")
    now = datetime.datetime.now(datetime.timezone.utc)
    first = datetime.datetime.strptime(stamps[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    check(abs((now - first).total_seconds()) < 300, "the first time stamp is the real UTC time",
          "%s against %s" % (stamps[0], now.isoformat()))

main(test)
