"""Checks shared by the Ruby, Perl and PHP frame tests: one program per
language, with modes, whose connections are made from named functions
marked pwtest:NAME."""
import os
import re

from pwtest import PROGRAMS_SRC, check, eq, findings, functions, get, leak_groups, marker_line, run, section, tmpdir


def source_frame(stack, function, language):
    for frame in stack or []:
        if frame.get("function") == function and frame.get("language") == language:
            return frame
    return None


def check_source_frame(stack, function, language, program, marker):
    """FUNCTION's frame is a LANGUAGE frame at the pwtest:MARKER line of
    PROGRAM, with no offset."""
    frame = source_frame(stack, function, language)
    if not check(frame is not None, "the stack has a %s frame in %s" % (language, function),
                 [(f.get("function"), f.get("language")) for f in stack or []]):
        return None
    eq(frame.get("file"), os.path.join(PROGRAMS_SRC, program), "%s's file" % function)
    eq(frame.get("line"), marker_line(program, marker), "%s's line (pwtest:%s)" % (function, marker))
    eq(frame.get("offset"), None, "%s's frame has no offset" % function)
    return frame


def check_no_interpreter_frames(stack, interpreter_pattern, language):
    native = [f.get("module") for f in stack if f.get("language") in ("c", "c++")]
    eq([m for m in native if re.search(interpreter_pattern, str(m))], [],
       "no native frames of the interpreter remain")
    check(all(set(f) >= {"function", "file", "line", "module", "offset", "language"} for f in stack),
          "every frame keeps the keys function, file, line, module, offset, language", [sorted(f) for f in stack])
    check(any(f.get("language") == language for f in stack), "%s frames are marked %s" % (language, language),
          [f.get("language") for f in stack])


def threshold_env(**more):
    """POOLWATCH_LEAK_THRESHOLD with an event log the test programs read to
    hold a connection until poolwatch has reported it (PWTEST_EVENTS)."""
    events = os.path.join(tmpdir(), "events.log")
    return dict(more, POOLWATCH_LEAK_THRESHOLD="200ms", POOLWATCH_EVENT_LOG=events, PWTEST_EVENTS=events)


def held_stacks(report, function, language):
    """Stacks of held_too_long findings that run through FUNCTION."""
    return [f.get("stack", []) for f in findings(report, "held_too_long")
            if source_frame(f.get("stack"), function, language)]


def run_mode(argv, mode, env=None, stdout=None):
    section(mode)
    r = run(argv + [mode], env=env)
    eq(r.status, 0, "exit status")
    if stdout is not None:
        eq(r.stdout, stdout, "stdout")
    return r


def check_clean(argv, name):
    """A clean program has no leak or finding, and passes the exit code
    gate (POOLWATCH_EXITCODE) with its own status."""
    r = run_mode(argv, "clean", env={"POOLWATCH_EXITCODE": "3"}, stdout="%s clean done\n" % name)
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 0, "no leaks")
    eq(report.get("findings", []), [], "no findings")
    check(get(report, "pools", [{}])[0].get("counters", {}).get("connects", 0) >= 1 if report.get("pools") else False,
          "the connection was seen", report.get("pools"))


def exec_report(r):
    """The report written when the program exec'ed with connections open."""
    reports = [rep for name, rep in r.image_reports.items() if rep.get("reason") == "exec"]
    if not check(len(reports) == 1, "one report written at exec", sorted(r.image_reports)):
        return {}
    return reports[0]


def check_suppressions(argv, program_rel, leak_a, leak_b):
    """Rules naming the program's file suppress every group, a rule naming
    LEAK_A only its own; the exec mode leaks one connection from LEAK_A and
    two from LEAK_B."""
    def with_rules(rules):
        path = os.path.join(tmpdir(), "poolwatch.supp")
        with open(path, "w") as f:
            f.write(rules)
        r = run(argv + ["exec"], env={"POOLWATCH_SUPPRESSIONS": path})
        eq(r.warnings(), [], "no warnings about the rules")
        return exec_report(r)

    def suppressed(report, function):
        return [g.get("suppressed") for g in leak_groups(report, function)]

    section("suppressed by function")
    report = with_rules("leak:%s\n" % leak_a)
    eq(suppressed(report, leak_a), [True], "%s's group is suppressed" % leak_a)
    check(suppressed(report, leak_b) and not any(suppressed(report, leak_b)),
          "%s's groups are not" % leak_b, suppressed(report, leak_b))

    section("suppressed by file")
    report = with_rules("leak:%s\n" % program_rel)
    groups = report.get("leaks", [])
    check(groups and all(g.get("suppressed") for g in groups), "every group from %s is suppressed" % program_rel,
          [g.get("suppressed") for g in groups])

    section("a rule for another file")
    report = with_rules("leak:programs/other_%s\n" % os.path.basename(program_rel))
    eq(get(report, "summary.suppressed"), 0, "nothing suppressed")


def check_lifecycle_frame(r, function, language, program, caller, marker):
    """A connection held past the threshold at start-up or shutdown is one
    held_too_long finding through FUNCTION, whose caller CALLER is at the
    pwtest:MARKER line; every connection is closed."""
    report = r.only_report()
    stacks = held_stacks(report, function, language)
    eq(len(stacks), 1, "one held_too_long finding through %s" % function)
    if stacks:
        check_source_frame(stacks[0], caller, language, program, marker)
    counters = get(report, "pools", [{}])[0].get("counters", {}) if report.get("pools") else {}
    eq(counters.get("closes"), counters.get("connects"), "every connection was closed (closes == connects)")
    return report
