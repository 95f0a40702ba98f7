"""Process ends and process creation under the shim, each compared with the
same run without it (status and stdout), with the reports checked:

- exit() from one of four threads in checkout loops (20 runs): the status
  is the program's, one whole report;
- _exit() and abort(): the program's status and stdout, no report;
- stdout closed: the program's status;
- fork while another thread holds a checkout: the child checks out and in
  10 times and reports no leak, nor the parent's held checkout as its own;
- posix_spawn and vfork+exec of /bin/true with a connection open: only
  the program reports;
- a daemon's double fork: the grandchild's leak is reported, by it alone."""
import subprocess

import pwtest
from pwtest import eq, get, main, mask_numbers, pool, program, run, section

ATTACKS = program("attacks")


def same_as_plain(argv, label, **kw):
    """Runs ARGV without and with the shim; pids in stdout differ."""
    plain = run(argv, preload=False, outdir=False, **kw)
    r = run(argv, **kw)
    eq((r.status, mask_numbers(r.stdout)), (plain.status, mask_numbers(plain.stdout)),
       "%s: status and stdout as without poolwatch" % label)
    return r


def summary(report):
    return (get(report, "summary.leaked_connections"), get(report, "summary.leaked_checkouts"))


def test():
    section("exit() from a thread while three others check out")
    tried = survived = 0
    for _ in range(20):
        r = run([ATTACKS, "thread_exit"], timeout=60)
        tried += 1
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        ok = r.status == 5 and len(r.reports) == 1 and not r.report_errors and bool(lines) \
            and lines[-1].startswith("SUMMARY: poolwatch: 1 leaked connections")
        survived += ok
        if not ok:
            print(r.describe())
    print("tried %d, survived %d, lost %d" % (tried, survived, tried - survived))
    eq(survived, tried, "every run: status 5 and one whole report")

    section("_exit and abort")
    for how in ("_exit", "abort"):
        r = same_as_plain([ATTACKS, "end", how], how)
        eq(r.reports, {}, "%s: no report" % how)

    section("stdout closed")
    results = []
    for preload in (False, True):
        env = pwtest._environment(preload, None, False)[0]
        p = subprocess.run(["sh", "-c", 'exec "$0" buffered 7 >&-', ATTACKS], env=env,
                           stderr=subprocess.DEVNULL, timeout=60)
        results.append(p.returncode)
    eq(results[1], results[0], "status as without poolwatch")

    section("fork while another thread holds a checkout")
    r = same_as_plain([ATTACKS, "fork_held"], "fork_held")
    eq(r.stdout, "child status 0\n", "the child ended well")
    eq(len(r.reports), 2, "parent and child each report")
    for pid, report in r.reports.items():
        eq(summary(report), (0, 0), "process %d: no leak" % pid)
    child = [rep for rep in r.reports.values() if get(rep, "ppid") in r.reports]
    eq(len(child), 1, "one report is the child's")
    if child:
        eq(get(pool(child[0], "forked"), "counters.checkouts"), 10, "the child's own 10 checkouts")

    section("posix_spawn and vfork")
    r = same_as_plain([ATTACKS, "spawn"], "spawn")
    eq(r.stdout, "posix_spawn 0 status 0\nvfork status 0\n", "both children ran")
    eq(len(r.reports), 1, "only the program reports")
    if r.reports:
        eq(summary(next(iter(r.reports.values()))), (0, 0), "no leak")

    section("a daemon's double fork")
    r = same_as_plain([ATTACKS, "double_fork"], "double_fork")
    grandchild = int(r.stdout.split()[-1]) if r.stdout.startswith("grandchild ") else -1
    eq(sorted(r.reports), [grandchild], "only the grandchild, which used libpq, reports")
    if grandchild in r.reports:
        eq(summary(r.reports[grandchild]), (1, 0), "its leaked connection")


main(test)
