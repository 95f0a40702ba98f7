"""Perl stacks with plain LD_PRELOAD (Perl 5.36, Debian's DBI and
DBD::Pg): a connection held past POOLWATCH_LEAK_THRESHOLD, in the main
interpreter and in an ithread, is reported at its .pl line under its
Package::sub name, with DBI's own frames in its library's module;
connections left open at exec are leaks at their lines, two subs make two
groups, and suppressions match the file and the sub; a clean program
reports nothing. In a BEGIN block (start-up) and an END block frames are
read the same, and global destruction's closes are safe."""
import re

from langframes import (threshold_env, check_clean, check_lifecycle_frame, check_no_interpreter_frames, check_source_frame, check_suppressions,
                        exec_report, held_stacks, run_mode, source_frame)
from pwtest import PROGRAMS_SRC, check, eq, get, leak_groups, main

PROGRAM = "perl_frames.pl"
ARGV = ["perl", PROGRAMS_SRC + "/" + PROGRAM]


def test():
    r = run_mode(ARGV, "hold", env=threshold_env(), stdout="perl_frames hold done\n")
    report = r.only_report()
    a, b = held_stacks(report, "My::Module::leak_a", "perl"), held_stacks(report, "My::Module::leak_b", "perl")
    eq(len(a), 1, "one held_too_long finding from leak_a")
    eq(len(b), 1, "one from leak_b, in an ithread: a group of its own")
    stack = a[0] if a else []
    frame = check_source_frame(stack, "My::Module::leak_a", "perl", PROGRAM, "leak_a")
    check(frame and re.search(r"/perl$|libperl", str(frame.get("module"))), "the program's module is the interpreter",
          frame)
    check_source_frame(stack, "main", "perl", PROGRAM, "hold_a")
    check_no_interpreter_frames(stack, r"/perl$|libperl", "perl")
    dbi = source_frame(stack, "DBI::connect", "perl")
    check(dbi and str(dbi.get("file")).endswith("/DBI.pm") and str(dbi.get("module")).endswith("/DBI.pm"),
          "DBI's own Perl frame, in its module", dbi)
    check(stack and "DBD/Pg/Pg.so" in str(stack[0].get("module")), "DBD::Pg's native frame comes first",
          [f.get("module") for f in stack])
    if b:
        check_source_frame(b[0], "My::Module::leak_b", "perl", PROGRAM, "leak_b")
        check_source_frame(b[0], "main::__ANON__", "perl", PROGRAM, "thread")
    check(re.search(r"#\d+ My::Module::leak_a .*perl_frames\.pl:\d+ \(perl\)", r.stderr),
          "stderr shows '#N My::Module::leak_a FILE:LINE (perl)'", r.stderr[:800])

    r = run_mode(ARGV, "exec", stdout="perl_frames exec done\n")
    report = exec_report(r)
    eq(get(report, "summary.leaked_connections"), 3, "three connections open at exec")
    a, b = leak_groups(report, "My::Module::leak_a"), leak_groups(report, "My::Module::leak_b")
    eq([g.get("count") for g in a], [1], "leak_a's group holds its one leak")
    eq(sum(g.get("count") for g in b), 2, "leak_b's group holds its two leaks")
    check(not any(g in b for g in a), "leak_a and leak_b are different groups")
    check_source_frame(get(a, [0, "stack"], []), "My::Module::leak_a", "perl", PROGRAM, "leak_a")

    r = run_mode(ARGV, "startup", env=threshold_env(), stdout="perl_frames startup done\n")
    check_lifecycle_frame(r, "My::Module::leak_a", "perl", PROGRAM, "main::BEGIN", "startup")
    r = run_mode(ARGV, "shutdown", env=threshold_env(), stdout="perl_frames shutdown done\n")
    check_lifecycle_frame(r, "My::Module::leak_a", "perl", PROGRAM, "main::END", "end")

    check_suppressions(ARGV, "programs/" + PROGRAM, "My::Module::leak_a", "My::Module::leak_b")
    check_clean(ARGV, "perl_frames")


main(test)
