"""PHP stacks with plain LD_PRELOAD (PHP 8.2 CLI, Debian's php-pgsql). PHP
closes pg_connect's connections when the script ends and keeps
pg_pconnect's by design: neither is a leak, and a stuck connection is
caught by POOLWATCH_LEAK_THRESHOLD, at its .php line, in the script and in
a child made by pcntl_fork. Connections left open at pcntl_exec are leaks
at their lines, two functions make two groups, and suppressions match the
.php file and the function; a clean script reports nothing. In an
auto_prepend_file (start-up) and a shutdown function frames are read the
same."""
import re

from langframes import (threshold_env, check_clean, check_lifecycle_frame, check_no_interpreter_frames, check_source_frame, check_suppressions,
                        exec_report, held_stacks, run_mode, source_frame)
from pwtest import PROGRAMS_SRC, check, eq, get, leak_groups, main, run, section

PROGRAM = "php_frames.php"
ARGV = ["php", PROGRAMS_SRC + "/" + PROGRAM]


def test():
    r = run_mode(ARGV, "hold", env=threshold_env(), stdout="php_frames hold done\n")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 0, "no leaks: PHP closes both connections itself")
    a = held_stacks(report, "leak_a", "php")
    eq(len(a), 1, "one held_too_long finding from leak_a")
    stack = a[0] if a else []
    frame = check_source_frame(stack, "leak_a", "php", PROGRAM, "leak_a")
    check(frame and re.search(r"php", str(frame.get("module"))), "the script's module is the interpreter", frame)
    check_source_frame(stack, "{main}", "php", PROGRAM, "hold_a")
    call = source_frame(stack, "pg_connect", "php")
    check(call and call.get("line") == frame.get("line") if frame else False,
          "pg_connect, a C function, is shown at its caller's line, as PHP's backtraces do", call)
    check_no_interpreter_frames(stack, r"/php[0-9.]*$", "php")
    # PHP unloads its extensions before exit, so the exit report shows
    # pgsql.so's frame as ??; the line written when the threshold was
    # crossed names it.
    check(stack and stack[0].get("language") == "c", "php-pgsql's native frame comes first",
          [f.get("language") for f in stack])
    check(re.search(r"#0 .*pgsql\.so.*\n\s+#1 pg_connect .*php_frames\.php:\d+ \(php\)", r.stderr),
          "stderr shows pgsql.so's frame, then '#1 pg_connect FILE:LINE (php)'", r.stderr[:800])
    p = held_stacks(report, "Repository::persistent", "php")
    eq(len(p), 1, "the persistent connection held past the threshold is a finding of its own")
    if p:
        check_source_frame(p[0], "Repository::persistent", "php", PROGRAM, "persistent")

    r = run_mode(ARGV, "fork", env=threshold_env(), stdout="php_frames fork done\n")
    child = [rep for rep in r.reports.values() if held_stacks(rep, "leak_b", "php")]
    eq(len(child), 1, "the forked child's report has its held connection")
    if child:
        check_source_frame(held_stacks(child[0], "leak_b", "php")[0], "{main}", "php", PROGRAM, "fork")

    r = run_mode(ARGV, "exec", stdout="php_frames exec done\n")
    report = exec_report(r)
    eq(get(report, "summary.leaked_connections"), 3, "three connections open at exec")
    a, b = leak_groups(report, "leak_a"), leak_groups(report, "leak_b")
    eq([g.get("count") for g in a], [1], "leak_a's group holds its one leak")
    eq(sum(g.get("count") for g in b), 2, "leak_b's group holds its two leaks")
    check_source_frame(get(a, [0, "stack"], []), "leak_a", "php", PROGRAM, "leak_a")

    r = run_mode(ARGV, "shutdown", env=threshold_env(), stdout="php_frames shutdown done\n")
    check_lifecycle_frame(r, "leak_a", "php", PROGRAM, "{closure}", "shutdown")

    section("start-up: auto_prepend_file")
    r = run(["php", "-d", "auto_prepend_file=" + ARGV[1], PROGRAMS_SRC + "/php_started.php"],
            env=threshold_env(PWTEST_STARTUP="1"))
    eq(r.status, 0, "exit status")
    eq(r.stdout, "started\n", "stdout")
    check_lifecycle_frame(r, "leak_a", "php", PROGRAM, "{main}", "startup")

    check_suppressions(ARGV, "programs/" + PROGRAM, "leak_a", "leak_b")
    check_clean(ARGV, "php_frames")


main(test)
