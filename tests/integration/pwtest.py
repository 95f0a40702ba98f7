"""Shared helpers for the integration tests (Python 3 standard library only).

A test runs real programs under the shim with `run()`, which preloads
$POOLWATCH_LIB, points POOLWATCH_OUTPUT_DIR at a fresh directory and
collects stdout, stderr, the exit status and every poolwatch-PID.json
written. Checks print one line each ("ok ..." or "FAIL ..."); `main()` runs
the test body and exits nonzero if any check failed, so ctest shows what a
user would have seen go wrong.

Environment (set by tests/CMakeLists.txt): POOLWATCH_LIB, PWTEST_BIN (the
test programs), PWTEST_PROGRAMS_SRC, PWTEST_PYTHON, and PGHOST, PGPORT,
PGUSER, PGDATABASE of the throwaway cluster.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

LIB = os.environ.get("POOLWATCH_LIB", "")
BIN = os.environ.get("PWTEST_BIN", "")
PROGRAMS_SRC = os.environ.get("PWTEST_PROGRAMS_SRC", "")
PYTHON = os.environ.get("PWTEST_PYTHON", "/usr/bin/python3")
# A library preloaded ahead of the shim: the sanitizer runtime when the
# shim is built with POOLWATCH_SANITIZE.
PRELOAD_FIRST = os.environ.get("PWTEST_PRELOAD_FIRST", "")

_failures = []
_checks = 0
_tmpdirs = []
_last_run = None
_last_run_shown = None


# ---- running programs -------------------------------------------------------

def program(name):
    """Path of a test program built from tests/programs."""
    return os.path.join(BIN, name)


def pg_bin(name):
    """Path of a PostgreSQL client program. Debian's /usr/bin/psql is a Perl
    wrapper that execs the real one; tests that are not about exec use the
    real binary, from PG_BINDIR or the newest /usr/lib/postgresql/*/bin."""
    dirs = [os.environ["PG_BINDIR"]] if os.environ.get("PG_BINDIR") else []
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    versions.sort(key=lambda d: int(re.sub(r"\D", "", d.split("/")[-2]) or 0), reverse=True)
    for d in dirs + versions:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    found = shutil.which(name)
    if not found:
        raise RuntimeError("PostgreSQL program %s not found" % name)
    return found


def fresh_database(name):
    """Creates database NAME anew (without the shim) and returns the env
    that points a run at it, so tests running in parallel do not share
    tables."""
    for sql in ("drop database if exists %s" % name, "create database %s" % name):
        done = run([pg_bin("psql"), "-X", "-q", "-d", "postgres", "-c", sql], preload=False, outdir=False)
        if done.status != 0:
            raise RuntimeError("psql -c %r failed: %s" % (sql, done.stderr))
    return {"PGDATABASE": name}


def tmpdir(prefix="pwtest-"):
    """A fresh directory, removed at the end unless a check failed."""
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def marker_line(source, marker):
    """Line number of the "pwtest:MARKER" comment in a test program source."""
    path = os.path.join(PROGRAMS_SRC, source)
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if re.search(r"pwtest:%s\b" % re.escape(marker), line):
                return number
    raise RuntimeError("marker pwtest:%s not found in %s" % (marker, path))


class Run:
    """The outcome of one program run."""

    def __init__(self, argv, proc, outdir):
        self.argv = argv
        self.status = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")
        self.outdir = outdir
        self.files = sorted(os.listdir(outdir)) if outdir and os.path.isdir(outdir) else []
        self.reports = {}       # by pid: the first process image's report
        self.image_reports = {}  # by file name, every image's (after exec: poolwatch-PID.N.json)
        self.report_errors = []
        for name in self.files:
            m = re.fullmatch(r"poolwatch-(\d+)(\.\d+)?\.json", name)
            if not m:
                continue
            try:
                with open(os.path.join(outdir, name)) as f:
                    report = json.load(f)
            except (OSError, ValueError) as e:
                self.report_errors.append("%s: %s" % (name, e))
                continue
            self.image_reports[name] = report
            if not m.group(2):
                self.reports[int(m.group(1))] = report

    def read(self, name):
        with open(os.path.join(self.outdir, name), errors="replace") as f:
            return f.read()

    def warnings(self):
        return [l for l in self.stderr.splitlines() if l.startswith("poolwatch: warning:")]

    def only_report(self):
        """The run's single report; a failed check (and {}) if not exactly one."""
        check(not self.report_errors, "every report is valid JSON", "; ".join(self.report_errors))
        if not check(len(self.reports) == 1, "%s wrote exactly one report" % os.path.basename(self.argv[0]),
                     "reports for pids %s; files %s" % (sorted(self.reports), self.files)):
            return {}
        return next(iter(self.reports.values()))

    def describe(self):
        text = "    argv: %s\n    status: %s\n    files: %s\n" % (" ".join(self.argv), self.status, self.files)
        for label, data in (("stdout", self.stdout), ("stderr", self.stderr)):
            data = data if len(data) < 4000 else data[:2000] + "\n...\n" + data[-2000:]
            text += "    %s:\n%s\n" % (label, "\n".join("      | " + l for l in data.splitlines()))
        return text


def _environment(preload, env, outdir):
    """The environment for a run, and its output directory (or None).
    Inherited POOLWATCH_* and LD_PRELOAD are dropped so only what the test
    sets applies."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("POOLWATCH_") and k != "LD_PRELOAD"}
    if preload:
        if not LIB or not os.path.exists(LIB):
            raise RuntimeError("POOLWATCH_LIB (%r) is not a file; is the shim built?" % LIB)
        e["LD_PRELOAD"] = LIB
        if PRELOAD_FIRST:
            # The sanitizer build (scripts/sanitize.sh): the runtime comes
            # first, for hosts not built with it (Python).
            e["LD_PRELOAD"] = PRELOAD_FIRST + ":" + LIB
    if PRELOAD_FIRST:
        # The test programs leak connections on purpose: LeakSanitizer's
        # report of them would only change their exit status.
        e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    directory = tmpdir("pwtest-out-") if outdir else None
    if directory:
        e["POOLWATCH_OUTPUT_DIR"] = directory
    e.update(env or {})
    return e, directory


def run(argv, preload=True, env=None, outdir=True, timeout=120, stdin=None, cwd=None):
    """Runs ARGV to its end and returns a Run. PRELOAD puts the shim in
    LD_PRELOAD; OUTDIR True makes a fresh POOLWATCH_OUTPUT_DIR."""
    global _last_run
    e, directory = _environment(preload, env, outdir)
    argv = [str(a) for a in argv]
    try:
        proc = subprocess.run(argv, env=e, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as t:
        proc = subprocess.CompletedProcess(argv, "timeout after %ss" % timeout, t.stdout or b"", t.stderr or b"")
    _last_run = Run(argv, proc, directory)
    return _last_run


class Spawned:
    """A program started under the shim with pipes on stdin and stdout, for
    tests that talk to it while it runs. finish() returns its Run."""

    def __init__(self, argv, env=None):
        e, self.outdir = _environment(True, env, True)
        self.argv = [str(a) for a in argv]
        self.proc = subprocess.Popen(self.argv, env=e, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def readline(self):
        return self.proc.stdout.readline().decode("utf-8", "replace")

    def finish(self, stdin=b"", timeout=120):
        global _last_run
        try:
            out, err = self.proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        proc = subprocess.CompletedProcess(self.argv, self.proc.returncode, out, err)
        _last_run = Run(self.argv, proc, self.outdir)
        return _last_run


# ---- checks -----------------------------------------------------------------

def check(condition, what, detail=""):
    """Records one check. On the first failure after a run, also prints that
    run's argv, status, files and output."""
    global _checks, _last_run_shown
    _checks += 1
    if condition:
        print("ok   %s" % what)
        return True
    print("FAIL %s%s" % (what, ": " + str(detail) if detail != "" else ""))
    if _last_run is not None and _last_run_shown is not _last_run:
        _last_run_shown = _last_run
        print(_last_run.describe())
    _failures.append(what)
    return False


def eq(actual, expected, what):
    shown = repr(expected)
    label = "%s == %s" % (what, shown) if len(shown) <= 60 else what
    return check(actual == expected, label, "got %r, expected %s" % (actual, shown))


def section(title):
    print("\n== %s" % title)


def get(obj, path, default=None):
    """obj["a"]["b"] for path "a.b", or DEFAULT if any part is missing.
    Metric names with dots are reached as ("metrics", "pool.size")."""
    parts = path.split(".") if isinstance(path, str) else path
    for part in parts:
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and isinstance(part, int) and -len(obj) <= part < len(obj):
            obj = obj[part]
        else:
            return default
    return obj


# ---- reading reports --------------------------------------------------------

def pool(report, name="libpq"):
    for p in report.get("pools", []):
        if p.get("name") == name:
            return p
    check(False, "report has a pool named %s" % name, "pools: %s" % [p.get("name") for p in report.get("pools", [])])
    return {}


def functions(stack):
    return [frame.get("function") for frame in stack or []]


def frame_of(stack, function):
    for frame in stack or []:
        if frame.get("function") == function:
            return frame
    return None


def leak_groups(report, function, kind="connection"):
    """Leak groups of KIND whose stack has a frame in FUNCTION."""
    return [g for g in report.get("leaks", [])
            if g.get("kind") == kind and frame_of(g.get("stack"), function)]


def leaked_from(report, function, kind="connection"):
    """How many leaks of KIND came through FUNCTION."""
    return sum(g.get("count", 0) for g in leak_groups(report, function, kind))


def findings(report, kind):
    return [f for f in report.get("findings", []) if f.get("kind") == kind]


def check_stack_frame(stack, function, source, marker, module_suffix):
    """The frame in FUNCTION names the file and line of the marker and the
    module it is in, with an offset."""
    frame = frame_of(stack, function)
    if not check(frame is not None, "stack has a frame in %s" % function, "functions: %s" % functions(stack)):
        return
    check(str(frame.get("file", "")).endswith(source), "%s's frame is in file %s" % (function, source),
          "got %r" % frame.get("file"))
    eq(frame.get("line"), marker_line(source, marker), "%s's frame line (the pwtest:%s marker)" % (function, marker))
    check(str(frame.get("module", "")).endswith(module_suffix), "%s's frame module ends with %s" % (function, module_suffix),
          "got %r" % frame.get("module"))
    check(re.fullmatch(r"0x[0-9a-fA-F]+", str(frame.get("offset", ""))) is not None,
          "%s's frame has a hex offset" % function, "got %r" % frame.get("offset"))


def mask_numbers(text):
    """Output with every number replaced by N: the same shape, other values."""
    return re.sub(r"\d+(\.\d+)?", "N", text)


# ---- test entry point -------------------------------------------------------

def main(body):
    """Runs BODY, turns an exception into a failed check, prints the total
    and exits 1 on any failure. Temporary directories are kept on failure."""
    try:
        body()
    except Exception:
        traceback.print_exc(file=sys.stdout)
        check(False, "test ran to the end without an exception")
    print("\n%d checks, %d failed" % (_checks, len(_failures)))
    if _failures:
        if _tmpdirs:
            print("kept for inspection: %s" % " ".join(_tmpdirs))
        sys.exit(1)
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(0)
