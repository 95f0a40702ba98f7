"""Hostile exits, each run with and without the shim: the program's status,
stdout and files must be its own, and poolwatch must never hang, crash or
write where it should not.

- a signal handler that calls exit() while a hook holds a registry lock
  (120 races): every run ends with the program's status, and a report that
  is written is whole;
- stderr a pipe nobody reads, with the event log on stderr too: no SIGPIPE,
  the status and buffered stdout are the program's;
- a daemon started with fds 0-2 closed: the files it opens take the
  descriptors they would without poolwatch, and no report lands in them;
- a library destructor that closes its connection, with and without
  POOLWATCH_EXITCODE: not a leak, its at-exit write is kept, the exit code
  is applied;
- an atexit handler that finishes the program's connection: not a leak;
- the monitor thread (Prometheus export every 10 ms) stays still while
  the libraries' destructors run: it used to tick on among them;
- SIGTERM, SIGINT and SIGHUP to a leaking service, with its own handler
  (it exits normally: one whole report) and without (killed: no report,
  the status is the signal's)."""
import os
import signal
import subprocess

import pwtest
from pwtest import Spawned, check, eq, main, program, run, section, tmpdir

ATTACKS = program("attacks")


def environment(preload, extra=None):
    """The environment pwtest.run would give, for runs that need their own
    descriptors (a sanitizer build's runtime options included)."""
    return pwtest._environment(preload, extra, False)[0]


def whole(stderr):
    """A report that was written is whole: its last line is the summary."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    return bool(lines) and lines[-1].startswith("SUMMARY: poolwatch:")


def signal_races(count):
    section("exit() from a signal handler, %d races" % count)
    ended = hung = broken = incomplete = 0
    for seed in range(1, count + 1):
        r = run([ATTACKS, "signal_exit", seed], timeout=60)
        if r.status == 3 and whole(r.stderr) and not r.report_errors:
            ended += 1
        elif isinstance(r.status, str):
            hung += 1
        else:
            broken += 1
            print(r.describe())
        if "the report is incomplete" in r.stderr:
            incomplete += 1
    print("tried %d, ended with status 3 and a whole report %d, hung %d, other %d; "
          "%d found a lock held" % (count, ended, hung, broken, incomplete))
    eq((ended, hung, broken), (count, 0, 0), "every race ended with the program's status 3")


def broken_pipe():
    section("stderr a pipe with no reader")
    for extra in ({}, {"POOLWATCH_EVENT_LOG": "stderr"}):
        results = []
        for preload in (False, True):
            r_fd, w_fd = os.pipe()
            os.close(r_fd)
            env = environment(preload, extra)
            p = subprocess.run([ATTACKS, "buffered", "7"], stdout=subprocess.PIPE, stderr=w_fd, env=env,
                               timeout=60)
            os.close(w_fd)
            results.append((p.returncode, p.stdout))
        label = " (event log on stderr)" if extra else ""
        eq(results[1], results[0], "status and stdout as without poolwatch%s" % label)
        eq(results[1], (7, b"buffered line\n"), "the program's status 7 and its buffered line%s" % label)


def daemon_fds():
    section("a daemon started with fds 0-2 closed")
    seen = []
    for preload in (False, True):
        d = tmpdir()
        env = environment(preload, {"POOLWATCH_EVENT_LOG": os.path.join(d, "events.log")} if preload else {})
        p = subprocess.run(["sh", "-c", 'exec "$0" daemon_fds "$1" 0<&- 1>&- 2>&-', ATTACKS, d],
                           env=env, timeout=60)
        logs = {}
        for i in range(3):
            with open(os.path.join(d, "log%d" % i), errors="replace") as f:
                logs[i] = f.read()
        seen.append((p.returncode, logs))
        if preload:
            check(all("poolwatch" not in text for text in logs.values()),
                  "no report or warning in the daemon's files", logs)
    (plain_status, plain), (status, shimmed) = seen
    eq(status, plain_status, "exit status as without poolwatch")
    # Every file that got one of fds 0-2 without poolwatch gets the same one.
    low = [i for i, text in plain.items() if any("fd %d\n" % fd in text for fd in (0, 1, 2))]
    check(low, "without poolwatch the daemon's files take fds among 0-2", plain)
    eq([shimmed[i] for i in low], [plain[i] for i in low], "those files take the same descriptors")


def destructors():
    section("a library destructor closes its connection")
    for exitcode in (None, "9"):
        d = tmpdir()
        marker = os.path.join(d, "dtor.txt")
        env = {"POOLWATCH_EXITCODE": exitcode} if exitcode else {}
        r = run([ATTACKS, "lib_destructor", marker], env=env)
        label = " with POOLWATCH_EXITCODE=9" if exitcode else ""
        eq(r.status, 9 if exitcode else 0, "exit status%s" % label)
        with open(marker) as f:
            eq(f.read(), "destructor closed its connection\n", "the destructor's at-exit write is kept%s" % label)
        report = r.only_report()
        eq(report.get("summary", {}).get("leaked_connections"), 1,
           "only main's connection is leaked, not the one the destructor closed%s" % label)
    section("an atexit handler finishes the connection")
    r = run([ATTACKS, "atexit_finish"])
    eq(r.status, 0, "exit status")
    eq(r.only_report().get("summary", {}).get("leaked_connections"), 0, "no leaked connection")


def monitor_quiet_in_destructors():
    section("the monitor thread during the libraries' destructors")
    d = tmpdir()
    verdict = os.path.join(d, "verdict.txt")
    env = {"POOLWATCH_PROMETHEUS": os.path.join(d, "metrics.prom"), "POOLWATCH_INTERVAL": "10ms"}
    r = run([ATTACKS, "monitor_quiet", verdict], env=env)
    eq(r.status, 0, "exit status")
    with open(verdict) as f:
        eq(f.read(), "quiet\n", "no export written while the libraries' destructors ran")
    eq(r.only_report().get("summary", {}).get("leaked_connections"), 1, "the leak is reported")


def signals():
    section("SIGTERM, SIGINT, SIGHUP to a leaking service")
    tried = survived = 0
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        for own in (True, False):
            tried += 1
            p = Spawned([ATTACKS, "sig_service", ("%d" if own else "+%d") % sig])
            ok = p.readline() == "ready\n"
            p.proc.send_signal(sig)
            r = p.finish(timeout=60)
            if own:
                ok = ok and r.status == 0 and r.stdout == "stopping on signal %d\n" % sig
                ok = ok and whole(r.stderr) and r.only_report().get("summary", {}).get("leaked_connections") == 1
            else:
                ok = ok and r.status == -sig and r.stdout == "" and not r.report_errors
            check(ok, "%s %s: status, output and report as expected" %
                  (signal.Signals(sig).name, "with its own handler" if own else "default action"))
            survived += ok
    print("tried %d, survived %d, lost %d" % (tried, survived, tried - survived))


def test():
    signal_races(120)
    broken_pipe()
    daemon_fds()
    destructors()
    monitor_quiet_in_destructors()
    signals()


main(test)
