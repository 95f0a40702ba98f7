"""Cases of `poolwatch run`, and of the command line as a whole: bad
arguments, help, version and the man page."""
import copy
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile

from tooltest import *  # noqa: F401,F403 (the shared checks and helpers)
from tooltest import ARGS, FAKE_PROGRAM, FIXTURES, HERE, TROUBLE, Failure  # noqa: F401


# ---- arguments ----

BAD_ARGUMENTS = [
    ([], "Usage"),
    (["frobnicate"], "unknown command"),
    (["help", "frobnicate"], "unknown command"),
    (["run"], "name the PROGRAM"),
    (["run", "--"], "name the PROGRAM"),
    (["run", "--nope", "--", "true"], "unknown option '--nope'"),
    (["run", "--depth", "129", "--", "true"], "--depth takes a whole number from 0 to 128"),
    (["run", "--depth=abc", "true"], "not 'abc'"),
    (["run", "--exitcode", "300", "true"], "--exitcode takes a whole number from 0 to 255"),
    (["run", "--threshold", "5x", "true"], "--threshold takes a positive duration"),
    (["run", "--interval", "-1s", "true"], "--interval takes a positive duration"),
    (["run", "--output"], "--output needs a value"),
    (["run", "--output", "", "true"], "--output needs a non-empty value"),
    (["run", "--quiet=1", "true"], "--quiet takes no value"),
    (["report"], "name at least one report"),
    (["report", "--format", "xml", "x.json"], "--format takes text, json, sarif, junit or github"),
    (["report", "--source-root"], "--source-root needs a value"),
    (["report", "--source-root", "/nonexistent/dir", "x.json"], "--source-root /nonexistent/dir"),
    (["run", "--sarif"], "--sarif needs a value"),
    (["run", "--junit="], "--junit needs a non-empty value"),
    (["report", "--baseline"], "--baseline needs a value"),
    (["report", "--bogus", "x.json"], "unknown option '--bogus'"),
    (["dashboard", "--format", "png"], "--format takes simple or grafana"),
    (["dashboard", "--format"], "--format needs a value"),
    (["dashboard", "extra"], "unexpected argument 'extra'"),
    (["dashboard", "--report", "/nonexistent/report.json"], "No such file"),
]


def test_bad_arguments():
    for args, message in BAD_ARGUMENTS:
        out, err = poolwatch(*args, expect=125)
        check_in(message, err, "poolwatch %s" % " ".join(args))
        check_eq(out, "", "nothing on stdout for poolwatch %s" % " ".join(args))


def test_help_and_version():
    out, _ = poolwatch("--help")
    for command in ("run", "report", "dashboard"):
        check_in(command, out, "--help lists the commands")
    for name in ("POOLWATCH_OUTPUT_DIR", "POOLWATCH_STACK_DEPTH", "POOLWATCH_LIBRARY"):
        check_in(name, out, "--help lists the variables")
    check_in("default: 32", out, "--help shows defaults")
    run_help, _ = poolwatch("run", "--help")
    same, _ = poolwatch("help", "run")
    check_eq(same, run_help, "help run")
    for flag in ("--output DIR", "--exitcode N", "--depth N", "--quiet", "--threshold DURATION"):
        check_in(flag, run_help, "run --help lists its flags")
    check_eq(len(re.findall(r"^        default: ", run_help, re.M)), len(run_flags(run_help)),
             "every run option shows its default")
    poolwatch("report", "--help")
    poolwatch("dashboard", "-h")
    out, _ = poolwatch("--version")
    check(re.fullmatch(r"poolwatch \d+\.\d+\.\d+\n", out), "--version: %r" % out)
    # Help fits an 80-column terminal.
    for args in (("--help",), ("run", "--help"), ("report", "--help"), ("dashboard", "--help"),
                 ("top", "--help")):
        out, _ = poolwatch(*args)
        long_lines = [l for l in out.splitlines() if len(l) > 80]
        check_eq(long_lines, [], "poolwatch %s: lines longer than 80 columns" % " ".join(args))
    # The man page has a date and no lint warnings, when mandoc is there.
    if shutil.which("mandoc"):
        lint = subprocess.run(["mandoc", "-Tlint", os.path.join(ARGS.source_dir, "tools", "poolwatch.1")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        check_eq(lint.stdout, "", "mandoc -Tlint tools/poolwatch.1")


def run_flags(run_help):
    return re.findall(r"^  (--[a-z-]+)", run_help, re.M)


def test_manpage_lists_every_option():
    path = os.path.join(ARGS.source_dir, "tools", "poolwatch.1")
    with open(path) as f:
        page = f.read()
    plain = page.replace("\\-", "-")
    run_help, _ = poolwatch("run", "--help")
    for flag in run_flags(run_help):
        if flag != "--help":
            check_in(flag, plain, "poolwatch.1 documents the run flag")
    main_help, _ = poolwatch("--help")
    for name in set(re.findall(r"^  (POOLWATCH_[A-Z_]+)", main_help, re.M)):
        check_in(".B " + name + "\n", page, "poolwatch.1 documents the variable")
    version, _ = poolwatch("--version")
    check_in('"%s"' % version.strip(), page.splitlines()[0], "poolwatch.1's .TH version")
    groff = shutil.which("groff")
    if groff:
        proc = subprocess.run([groff, "-man", "-ww", "-z", "-Tutf8", path],
                              stderr=subprocess.PIPE, universal_newlines=True)
        check_eq(proc.stderr, "", "groff warnings")


def test_run_static_binary_fails_closed():
    check(ARGS.static_program, "needs --static-program")
    with RunDir() as tmp:
        # The library found by default: the one built beside the command.
        _, err = poolwatch("run", "--output", tmp, "--", ARGS.static_program, expect=125)
        check_in("no report from %s: %s is a static binary" % (ARGS.static_program, ARGS.static_program),
                 err, "fail-closed message names the static binary")


def test_run_setuid_program_fails_closed():
    if os.geteuid() != 0:
        print("skip: needs root to make a set-user-ID program owned by another user")
        return
    with RunDir() as tmp:
        program = os.path.join(tmp, "setuid_true")
        shutil.copy("/bin/true", program)
        os.chown(program, pwd.getpwnam("nobody").pw_uid, -1)
        os.chmod(program, 0o4755)
        _, err = poolwatch("run", "--output", os.path.join(tmp, "out"), "--", program, expect=125)
        check_in("%s is set-user-ID or set-group-ID, so the loader ignores LD_PRELOAD" % program, err,
                 "names the set-user-ID program")


def test_run_program_not_found():
    with RunDir() as tmp:
        _, err = poolwatch("run", "--output", tmp, "--", "/nonexistent/program",
                           env={"POOLWATCH_LIBRARY": ARGS.preload_stub}, expect=127)
        check_in("cannot run /nonexistent/program: No such file or directory", err, "message")
        check("no report" not in err, "a program that never ran is not a missing report")


def test_run_library_missing():
    _, err = poolwatch("run", "--", "true", env={"POOLWATCH_LIBRARY": "/nonexistent/lib.so"},
                       expect=125)
    check_in("POOLWATCH_LIBRARY=/nonexistent/lib.so", err, "message")


def test_run_passes_environment():
    with RunDir() as tmp:
        preload = "/already/preloaded.so"
        fake_run(tmp, "env", "report", "clean.json",
                 options=["--depth", "7", "--threshold=30s", "--quiet", "--exitcode", "3"],
                 env={"LD_PRELOAD": preload, "POOLWATCH_POOL_SIZE": "9",
                      "POOLWATCH_EXITCODE": "4"})
        env = saved_env(tmp)
        stub = os.path.realpath(ARGS.preload_stub)
        check_eq(env["LD_PRELOAD"], stub + ":" + preload, "library prepended to LD_PRELOAD")
        check_eq(env["POOLWATCH_STACK_DEPTH"], "7", "--depth")
        check_eq(env["POOLWATCH_LEAK_THRESHOLD"], "30s", "--threshold=")
        check_eq(env["POOLWATCH_QUIET"], "1", "--quiet")
        check_eq(env["POOLWATCH_POOL_SIZE"], "9", "a variable already set is kept")
        check_eq(env["POOLWATCH_OUTPUT_DIR"], os.path.realpath(tmp), "output dir, absolute")
        check("POOLWATCH_EXITCODE" not in env, "the gate's exit code is not passed on")


def test_run_summary_and_exitcode():
    with RunDir() as tmp:
        _, err = fake_run(tmp, "report", "run1/poolwatch-101.json", "child",
                          "run1/poolwatch-102.json", "exit", "0",
                          options=["--exitcode", "23"], expect=23)
        check_in("2 processes reported 4 leaked connections, 1 leaked checkout, 2 findings, "
                 "1 suppressed", err, "summary")
        check_in("process 101 /srv/app/bin/orders: 2 leaked connections", err, "process line")
        check_in("poolwatch-", err, "points to the files")
        check_in("reports in %s" % os.path.realpath(tmp), err, "names the directory")
    with RunDir() as tmp:
        # Without --exitcode the program's own status stands, leaks or not.
        fake_run(tmp, "report", "run1/poolwatch-101.json", "exit", "5", expect=5)
    with RunDir() as tmp:
        fake_run(tmp, "report", "clean.json", "exit", "0", options=["--exitcode", "23"])
    with RunDir() as tmp:
        # POOLWATCH_EXITCODE in the environment is the gate's default.
        fake_run(tmp, "report", "run1/poolwatch-101.json", env={"POOLWATCH_EXITCODE": "9"},
                 expect=9)


def test_run_killed_program():
    with RunDir() as tmp:
        _, err = fake_run(tmp, "report", "clean.json", "kill", "TERM",
                          expect=128 + signal.SIGTERM)
        check_in("killed by signal %d" % signal.SIGTERM, err, "says it was killed")


def test_run_no_report_from_successful_program():
    with RunDir() as tmp:
        # A dynamic program (a shell script, /bin/sh): the library was
        # loaded; the program never used libpq. Its own status stands.
        _, err = fake_run(tmp, "exit", "3", expect=3)
        check_in("no report from %s: poolwatch was loaded, but no process used libpq" % FAKE_PROGRAM,
                 err, "says the library loaded and libpq was never used")
        check_in("reports were expected in %s" % os.path.realpath(tmp), err, "names the directory")
    with RunDir() as tmp:
        # A directory made for the run is not left behind empty.
        poolwatch("run", "--", FAKE_PROGRAM, FIXTURES, "exit", "0",
                  env={"POOLWATCH_LIBRARY": ARGS.preload_stub, "TMPDIR": tmp})
        check_eq(os.listdir(tmp), [], "nothing left in $TMPDIR")


def test_run_unreadable_report():
    with RunDir() as tmp:
        _, err = fake_run(tmp, "garbage", "exit", "0", expect=125)
        check_in("not valid JSON", err, "names the problem")
        check_in("1 report could not be read", err, "counts it")


def test_run_ignores_old_reports():
    with RunDir() as tmp:
        shutil.copy(fixture("run1", "poolwatch-101.json"), os.path.join(tmp, "poolwatch-1.json"))
        _, err = fake_run(tmp, "report", "clean.json", options=["--exitcode", "23"])
        check_in("1 process reported 0 leaked connections", err, "only this run's report")


def test_run_program_changes_directory():
    with RunDir() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            fake_run("out", "chdir", "report", "clean.json")
        finally:
            os.chdir(cwd)
        check(os.path.exists(os.path.join(tmp, "out")), "relative --output made absolute")


def test_run_default_output_dir():
    with RunDir() as tmp:
        _, err = poolwatch("run", "--", FAKE_PROGRAM, FIXTURES, "report", "clean.json",
                           env={"POOLWATCH_LIBRARY": ARGS.preload_stub, "TMPDIR": tmp})
        made = [d for d in os.listdir(tmp) if d.startswith("poolwatch.")]
        check_eq(len(made), 1, "one new directory under $TMPDIR")
        check_in(os.path.join(os.path.realpath(tmp), made[0]), err, "its path is printed")
        check_eq(os.stat(os.path.join(tmp, made[0])).st_mode & 0o777, 0o700, "private")
    with RunDir() as tmp:
        # POOLWATCH_OUTPUT_DIR from the environment is the default instead.
        out_dir = os.path.join(tmp, "from-env")
        poolwatch("run", FAKE_PROGRAM, FIXTURES, "report", "clean.json",
                  env={"POOLWATCH_LIBRARY": ARGS.preload_stub, "POOLWATCH_OUTPUT_DIR": out_dir})
        check(os.listdir(out_dir), "reports went to POOLWATCH_OUTPUT_DIR")
