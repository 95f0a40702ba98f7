"""Ruby stacks with plain LD_PRELOAD (MRI 3.1, Debian's ruby-pg): a
connection held past POOLWATCH_LEAK_THRESHOLD, in the main thread and in a
Ruby thread, is reported at its .rb line with ruby-pg's own frames in its
gem's module; connections left open at exec are leaks at their .rb lines,
two methods make two groups, and suppressions match the .rb file and the
method; a clean program reports nothing. At start-up (RUBYOPT=-r) and in
an at_exit block frames are read the same, and the finalizers' closes
during the VM's teardown are safe."""
import re

from langframes import (threshold_env, check_clean, check_lifecycle_frame, check_no_interpreter_frames, check_source_frame, check_suppressions,
                        exec_report, held_stacks, run_mode, source_frame)
from pwtest import PROGRAMS_SRC, check, eq, get, leak_groups, main, run, section

PROGRAM = "ruby_frames.rb"
ARGV = ["ruby", PROGRAMS_SRC + "/" + PROGRAM]


def test():
    r = run_mode(ARGV, "hold", env=threshold_env(), stdout="ruby_frames hold done\n")
    report = r.only_report()
    a, b = held_stacks(report, "leak_a", "ruby"), held_stacks(report, "leak_b", "ruby")
    eq(len(a), 1, "one held_too_long finding from leak_a")
    eq(len(b), 1, "one from leak_b, in a Ruby thread: a group of its own")
    stack = a[0] if a else []
    frame = check_source_frame(stack, "leak_a", "ruby", PROGRAM, "leak_a")
    check(frame and re.search(r"libruby", str(frame.get("module"))), "the program's module is the interpreter",
          frame)
    check_source_frame(stack, "<main>", "ruby", PROGRAM, "hold_a")
    check_no_interpreter_frames(stack, r"libruby", "ruby")
    pg = source_frame(stack, "connect", "ruby")
    check(pg and str(pg.get("file")).endswith("vendor_ruby/pg.rb"), "ruby-pg's own Ruby frame", pg)
    check(stack and "pg_ext" in str(stack[0].get("module")), "ruby-pg's native frame comes first",
          [f.get("module") for f in stack])
    if b:
        check_source_frame(b[0], "leak_b", "ruby", PROGRAM, "leak_b")
        check_source_frame(b[0], "block in <main>", "ruby", PROGRAM, "thread")
    check(re.search(r"#\d+ leak_a .*ruby_frames\.rb:\d+ \(ruby\)", r.stderr),
          "stderr shows '#N leak_a FILE:LINE (ruby)'", r.stderr[:800])

    r = run_mode(ARGV, "exec", stdout="ruby_frames exec done\n")
    report = exec_report(r)
    eq(get(report, "summary.leaked_connections"), 3, "three connections open at exec")
    a, b = leak_groups(report, "leak_a"), leak_groups(report, "leak_b")
    eq([g.get("count") for g in a], [1], "leak_a's group holds its one leak")
    eq(sum(g.get("count") for g in b), 2, "leak_b's group holds its two leaks")
    check(not any(g in b for g in a), "leak_a and leak_b are different groups")
    check_source_frame(get(a, [0, "stack"], []), "leak_a", "ruby", PROGRAM, "leak_a")

    r = run_mode(ARGV, "shutdown", env=threshold_env(),
                 stdout="ruby_frames shutdown done\n")
    check_lifecycle_frame(r, "leak_a", "ruby", PROGRAM, "block in <main>", "at_exit")

    section("start-up: RUBYOPT=-r")
    r = run(["ruby", "-e", "puts 'started'"],
            env=threshold_env(RUBYOPT="-r" + ARGV[1], PWTEST_STARTUP="1"))
    eq(r.status, 0, "exit status")
    eq(r.stdout, "started\n", "stdout")
    check_lifecycle_frame(r, "leak_a", "ruby", PROGRAM, "<top (required)>", "startup")

    check_suppressions(ARGV, "programs/" + PROGRAM, "leak_a", "leak_b")
    check_clean(ARGV, "ruby_frames")


main(test)
