"""`poolwatch top` on a program that holds a libzdb checkout with
POOLWATCH_LIVE=1: one plain frame shows the pool with one connection
checked out and the checkout's top frame; once the program has ended, and
for a process that never ran under the library, top fails with status 1
and says why."""
import os
import re
import time

from pwtest import Spawned, check, eq, main, program, run, section

POOLWATCH = os.environ.get("PWTEST_POOLWATCH", "")


def top(*args):
    return run([POOLWATCH, "top"] + [str(a) for a in args], preload=False, outdir=False, timeout=30)


def wait_for_top(pid, seconds=5.0):
    """The live file appears after the monitor thread's first tick."""
    deadline = time.time() + seconds
    r = top("--once", pid)
    while r.status != 0 and time.time() < deadline:
        time.sleep(0.05)
        r = top("--once", pid)
    return r


def lines_after(text, heading):
    """The lines of the section that starts with HEADING, up to a blank line."""
    lines = text.splitlines()
    if heading not in lines:
        return []
    rest = lines[lines.index(heading) + 1:]
    return rest[:rest.index("")] if "" in rest else rest


def test():
    check(os.access(POOLWATCH, os.X_OK), "PWTEST_POOLWATCH is the poolwatch command", repr(POOLWATCH))
    p = Spawned([program("zdb_pool"), "hold"], env={"POOLWATCH_LIVE": "1", "POOLWATCH_INTERVAL": "100ms"})
    pid = p.proc.pid
    eq(p.readline(), "held\n", "the program holds its checkout")

    section("one frame while the checkout is held")
    r = wait_for_top(pid)
    eq(r.status, 0, "top --once exit status")
    eq(r.stderr, "", "nothing on stderr")
    check("\x1b" not in r.stdout, "the frame has no escape codes")
    check(r.stdout.startswith("poolwatch top: process %d," % pid), "the frame names the process",
          r.stdout.splitlines()[:1])
    pool = lines_after(r.stdout, "libzdb (libzdb): 1 checkout, 0 checkins, 1 connect, 0 failed")
    check(pool, "the frame has a section for pool libzdb")
    check(any(re.match(r"\s+pool\.checkedout\s+1\s+\[#+\.*\] of 2 max", l) for l in pool),
          "pool.checkedout is 1, with a bar against the maximum of 2", pool)
    titles = [l.strip() for l in pool if not l.startswith("    ")]
    eq(titles, ["Pool Connections", "Pool Wait Time", "Pool Size and Overflow"],
       "panels in the dashboard configuration's order")
    oldest = lines_after(r.stdout, "Oldest checkouts")
    check(any(re.search(r"\slibzdb\s+\d+\s+checkout_and_hold$", l) for l in oldest),
          "the oldest checkout is in libzdb, with top frame checkout_and_hold", oldest)
    sites = lines_after(r.stdout, "Call sites by connection-seconds held")
    check(any(re.search(r"\slibzdb\s+1\s+checkout_and_hold\b", l) for l in sites),
          "the call site holding the connection", sites)

    piped = top(pid)
    eq(piped.status, 0, "top without --once into a pipe exit status")
    check("\x1b" not in piped.stdout and "Oldest checkouts" in piped.stdout,
          "into a pipe, top prints one plain frame")

    section("the implicit libpq pool")
    # Its connections are checked out by definition: the section counts
    # connects and closes, and its waits are blocking connects. It said
    # "0 checkouts" beside "over 51 checkouts".
    raw = Spawned([program("named_pool"), "-", "hold"], env={"POOLWATCH_LIVE": "1", "POOLWATCH_INTERVAL": "100ms"})
    eq(raw.readline(), "held\n", "the program holds its connection")
    r = wait_for_top(raw.proc.pid)
    eq(r.status, 0, "top --once exit status")
    libpq = lines_after(r.stdout, "libpq (libpq): 1 connect (0 failed), 0 closes")
    check(libpq, "the libpq pool's section counts connects and closes", r.stdout)
    check(any(re.search(r"over 1 connect$", l) for l in libpq), "its wait time is over 1 connect", libpq)
    check(not any("checkout" in l for l in libpq), "and speaks of no checkouts", libpq)
    eq(raw.finish(b"\n").status, 0, "the program's exit status")

    section("after the program ends")
    eq(p.finish(b"\n").status, 0, "the program's exit status")
    r = top("--once", pid)
    eq(r.status, 1, "top on an ended process exit status")
    check("process %d is not running" % pid in r.stderr, "says the process is not running", r.stderr)

    section("a process not under the library")
    r = top("--once", 1)
    eq(r.status, 1, "top on pid 1 exit status")
    check("process 1 is not publishing live state" in r.stderr and "POOLWATCH_LIVE=1" in r.stderr,
          "says pid 1 publishes no live state, and how to start one that does", r.stderr)

    section("bad arguments")
    for args in ([], ["--interval", "soon", "1"], ["12x"]):
        r = top(*args)
        eq(r.status, 125, "top %s exit status" % " ".join(args))
        check("Try 'poolwatch top --help'" in r.stderr, "top %s points to --help" % " ".join(args), r.stderr)


main(test)
