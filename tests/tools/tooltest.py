"""What the tests of the poolwatch command share: the command line of a
test run, checks that fail with a readable message, running the command,
fixtures, and the scratch directories and fake program of `run` tests."""
import argparse
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

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
FAKE_PROGRAM = os.path.join(HERE, "fake_program.sh")

# The command line's options (--poolwatch, --source-dir, ...), filled in by
# main() before any case runs; one object, shared by every module.
ARGS = argparse.Namespace()


class Failure(Exception):
    pass


# poolwatch's own failures: bad arguments, unreadable reports, no report.
TROUBLE = 125


def check(condition, message):
    if not condition:
        raise Failure(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise Failure("%s: expected %r, got %r" % (what, expected, actual))


def check_in(needle, haystack, what):
    if needle not in haystack:
        raise Failure("%s: %r not found in:\n%s" % (what, needle, haystack))


def poolwatch(*args, env=None, expect=0):
    """Runs the command; returns (stdout, stderr). EXPECT is the status."""
    full_env = dict(os.environ)
    for key in list(full_env):
        if key.startswith("POOLWATCH_"):
            del full_env[key]
    full_env.update(env or {})
    proc = subprocess.run(
        [ARGS.poolwatch] + list(args),
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )
    if expect is not None and proc.returncode != expect:
        raise Failure(
            "poolwatch %s: exit status %d, expected %d\nstdout:\n%s\nstderr:\n%s"
            % (" ".join(args), proc.returncode, expect, proc.stdout, proc.stderr)
        )
    return proc.stdout, proc.stderr


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


class RunDir:
    """A scratch directory for one run test, removed afterwards."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="poolwatch-test.")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def fake_run(out_dir, *actions, options=(), expect=0, env=None):
    run_env = {"POOLWATCH_LIBRARY": ARGS.preload_stub}
    run_env.update(env or {})
    args = ["run", "--output", out_dir] + list(options) + ["--", FAKE_PROGRAM, FIXTURES]
    return poolwatch(*(args + list(actions)), env=run_env, expect=expect)


def saved_env(out_dir):
    with open(os.path.join(out_dir, "env.txt")) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
