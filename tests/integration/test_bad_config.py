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


main(test)
