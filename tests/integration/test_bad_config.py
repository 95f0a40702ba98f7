"""A bad configuration value never stops or changes the program: its output
and exit status stay its own, and poolwatch prints exactly one warning line
naming the variable, then carries on with the default."""
import os

from pwtest import check, eq, get, leaked_from, main, program, run, section, tmpdir


def warned_once(r, variable):
    warnings = r.warnings()
    eq(len(warnings), 1, "warning lines on stderr")
    check(warnings and variable in warnings[0], "the warning names %s" % variable, warnings)


def test():
    leak_basic = program("leak_basic")
    not_a_dir = os.path.join(tmpdir(), "file")
    open(not_a_dir, "w").close()

    cases = [
        ("POOLWATCH_EXITCODE", "abc"),
        ("POOLWATCH_STACK_DEPTH", "-1"),
        ("POOLWATCH_OUTPUT_DIR", os.path.join(not_a_dir, "reports")),
        ("POOLWATCH_SUPPRESSIONS", "/nonexistent/poolwatch.supp"),
        ("POOLWATCH_LEAK_THRESHOLD", "soon"),
        ("POOLWATCH_POOL_SIZE", "many"),
    ]
    for variable, value in cases:
        section("%s=%s" % (variable, value))
        # The output directory case sets its own; the others keep a good one
        # so the report can be checked.
        r = run([leak_basic], env={variable: value}, outdir=variable != "POOLWATCH_OUTPUT_DIR")
        eq(r.status, 0, "exit status is the program's own")
        eq(r.stdout, "leak_basic done\n", "stdout is the program's own")
        warned_once(r, variable)
        check("open_report_db" in r.stderr, "the text report is still printed")
        if variable == "POOLWATCH_OUTPUT_DIR":
            check(not os.path.exists(value), "nothing was created at %s" % value)
            continue
        report = r.only_report()
        # The leak count shows the default took over: all 4 leaks found, none
        # suppressed, and stacks deep enough to reach main.
        eq(get(report, "summary.leaked_connections"), 4, "summary.leaked_connections")
        eq(leaked_from(report, "main"), 4, "leaks whose stack reaches main")

    # Special files as suppressions file or event log: a FIFO blocked the
    # exit (or the first connect) for ever, /dev/zero spun at 100% CPU, a
    # directory was taken silently. Each is refused with one warning.
    d = tmpdir()
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    special = [
        ("POOLWATCH_SUPPRESSIONS", fifo, "not a regular file"),
        ("POOLWATCH_SUPPRESSIONS", "/dev/zero", "not a regular file"),
        ("POOLWATCH_SUPPRESSIONS", d, "a directory"),
        ("POOLWATCH_EVENT_LOG", fifo, "a FIFO nobody reads"),
        ("POOLWATCH_EVENT_LOG", d, "Is a directory"),
    ]
    for variable, value, why in special:
        section("%s=%s" % (variable, value))
        r = run([leak_basic], env={variable: value}, timeout=60)
        eq(r.status, 0, "exit status is the program's own (no hang)")
        eq(r.stdout, "leak_basic done\n", "stdout is the program's own")
        warned_once(r, variable)
        check(any(why in w for w in r.warnings()), "the warning says why: %s" % why, r.warnings())
        eq(get(r.only_report(), "summary.leaked_connections"), 4, "every leak is still reported")

    # Durations far too large: an interval of 1e19 s became a busy loop, a
    # threshold of 2e10 s overflowed to 0 and reported every connection as
    # held too long. They are clamped to 7 days, with a warning.
    for variable, value in (("POOLWATCH_INTERVAL", "1e19"), ("POOLWATCH_LEAK_THRESHOLD", "2e10s"),
                            ("POOLWATCH_GROWTH_WINDOW", "1e300h")):
        section("%s=%s" % (variable, value))
        r = run([leak_basic], env={variable: value, "POOLWATCH_PROMETHEUS": os.path.join(d, "x.prom")})
        eq(r.status, 0, "exit status is the program's own")
        warned_once(r, variable)
        check(any("604800s" in w for w in r.warnings()), "the warning gives the clamped value", r.warnings())
        eq([f.get("kind") for f in r.only_report().get("findings", []) if f.get("kind") == "held_too_long"],
           [], "no connection is reported as held too long")

    section("a bad value holding a newline and an escape code")
    # The warning quotes the value: it once echoed it raw, so the value could
    # forge a line of poolwatch output or send escape codes to the terminal.
    value = "7\npoolwatch: no leaks (pid 1: 0 connects)\x1b[2J"
    r = run([leak_basic], env={"POOLWATCH_EXITCODE": value})
    eq(r.status, 0, "exit status is the program's own")
    warned_once(r, "POOLWATCH_EXITCODE")
    check("\x1b" not in r.stderr, "no escape code on stderr")
    check(any("7\\x0apoolwatch: no leaks" in w for w in r.warnings()), "the newline shows as \\x0a",
          r.warnings())
    eq([l for l in r.stderr.splitlines() if l.startswith("poolwatch: no leaks (pid 1")], [],
       "no forged line")

    section("an event log that already exists with mode 0644")
    log = os.path.join(d, "events.log")
    with open(log, "w") as f:
        f.write("earlier line\n")
    os.chmod(log, 0o644)
    r = run([leak_basic], env={"POOLWATCH_EVENT_LOG": log})
    eq(r.warnings(), [], "no warning")
    eq(oct(os.stat(log).st_mode & 0o777), oct(0o600), "the event log is made 0600, like every file poolwatch writes")
    with open(log) as f:
        lines = f.read().splitlines()
    check(lines[:1] == ["earlier line"] and len(lines) > 1, "lines are appended to what was there", lines[:3])


main(test)
