"""Suppressions match Python frames: a rule naming a .py file suppresses
the leaks whose stacks run through it, a rule naming a Python function
only that function's leaks; both are still listed, marked suppressed."""
import os

from pwtest import PROGRAMS_SRC, PYTHON, check, eq, get, leak_groups, main, run, section, tmpdir

SCRIPT = os.path.join(PROGRAMS_SRC, "python_frames.py")


def run_with_rules(rules):
    path = os.path.join(tmpdir(), "poolwatch.supp")
    with open(path, "w") as f:
        f.write(rules)
    r = run([PYTHON, SCRIPT, "two"], env={"POOLWATCH_SUPPRESSIONS": path})
    eq(r.status, 0, "exit status")
    eq(r.warnings(), [], "no warnings about the rules")
    return r.only_report()


def suppressed(report, function):
    return [g.get("suppressed") for g in leak_groups(report, function)]


def test():
    section("by Python function")
    report = run_with_rules("leak:leak_a\n")
    eq(suppressed(report, "leak_a"), [True], "leak_a's group is suppressed")
    check(suppressed(report, "leak_b") and not any(suppressed(report, "leak_b")),
          "leak_b's groups are not", suppressed(report, "leak_b"))
    eq(get(report, "summary.leaked_connections"), 2, "only leak_b's two leaks count")

    section("by .py file")
    report = run_with_rules("# the test program's own file\nleak:programs/python_frames.py\n")
    eq(suppressed(report, "leak_a") + suppressed(report, "leak_b"), [True] * len(report.get("leaks", [])),
       "every group from python_frames.py is suppressed")
    eq(get(report, "summary.suppressed"), len(report.get("leaks", [])), "summary.suppressed")

    section("a rule for another file")
    report = run_with_rules("leak:other/python_frames_other.py\n")
    eq(get(report, "summary.suppressed"), 0, "nothing suppressed")


main(test)
