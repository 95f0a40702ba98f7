"""A release build (-O2 -g) whose helpers are inlined into main: the leak's
stack still shows each inlined function, innermost first, at the line it
was called from, as LeakSanitizer does."""
from pwtest import check, eq, functions, get, main, marker_line, program, run


def test():
    r = run([program("inlined_leak")])
    eq(r.status, 0, "exit status")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 1, "summary.leaked_connections")
    stack = get(report, ["leaks", 0, "stack"], [])
    eq(functions(stack)[:3], ["open_inlined", "middle_inlined", "main"], "inlined frames, innermost first")
    lines = [f.get("line") for f in stack[:3]]
    expected = [marker_line("inlined_leak.c", m) for m in ("inlined_connect", "middle_call", "main_call")]
    eq(lines, expected, "each frame's line is where it called the next")
    check(len({f.get("offset") for f in stack[:3]}) == 1, "the three share one return address")


main(test)
