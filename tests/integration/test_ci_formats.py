"""The CI formats from real leaking programs under `poolwatch run`: SARIF
that Microsoft's SARIF Multitool accepts (with GitHub's ingestion rules),
each result at the user's own line and with fingerprints that a second run
reproduces; JUnit XML valid against the JUnit schema in tests/tools; GitHub
annotations at the same lines, by themselves on GitHub Actions; and the
SUMMARY line last in the shim's report and in run's summary. C programs
(raw libpq, libzdb) and Python (psycopg2)."""
import os
import sys

from pwtest import PROGRAMS_SRC, PYTHON, check, eq, main, marker_line, program, run, section, tmpdir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import ci_validate  # noqa: E402

POOLWATCH = os.environ.get("PWTEST_POOLWATCH", "")
SARIF_CACHE = os.environ.get("PWTEST_SARIF_CACHE", "")
EXAMPLES_SRC = os.environ.get("PWTEST_EXAMPLES_SRC", "")
SOURCE = os.path.dirname(os.path.dirname(PROGRAMS_SRC))
LEAK_BASIC_C = "tests/programs/leak_basic.c"
ZDB_POOL_C = "tests/programs/zdb_pool.c"
FINGERPRINT = "poolwatchGroup/v1"


class CiRun:
    """`poolwatch run` with every CI output, and those outputs checked."""

    def __init__(self, argv, options=(), env=None, ci_flags=True, accepted=()):
        d = tmpdir("pwtest-ci-")
        self.sarif_path = os.path.join(d, "leaks.sarif")
        self.junit_path = os.path.join(d, "leaks.xml")
        flags = ["--sarif", self.sarif_path, "--junit", self.junit_path]
        if ci_flags:
            flags += ["--github", "--source-root", SOURCE]
        self.run = run([POOLWATCH, "run", "--output", os.path.join(d, "reports")] + flags +
                       list(options) + ["--"] + list(argv), preload=False, outdir=False, env=env)
        self.reports_dir = os.path.join(d, "reports")
        self.sarif = self.junit = None
        self.results = []
        try:
            self.sarif = ci_validate.validate_sarif(self.sarif_path, SARIF_CACHE,
                                                    ci_validate.ACCEPTED_WARNINGS | set(accepted))
            self.results = self.sarif["runs"][0]["results"]
            check(True, "the SARIF Multitool accepts the SARIF file")
        except ci_validate.Invalid as e:
            check(False, "the SARIF Multitool accepts the SARIF file", str(e))
        try:
            self.junit = ci_validate.validate_junit(self.junit_path)
            check(True, "xmllint accepts the JUnit file against junit.xsd")
        except ci_validate.Invalid as e:
            check(False, "xmllint accepts the JUnit file against junit.xsd", str(e))
        try:
            self.github = ci_validate.parse_github(self.run.stderr)
        except ci_validate.Invalid as e:
            check(False, "annotations parse", str(e))
            self.github = []

    def located(self, rule):
        """(uri, uriBaseId, line, function) of each result of RULE."""
        out = []
        for r in self.results:
            if r["ruleId"] != rule:
                continue
            loc = r["locations"][0]
            artifact = loc.get("physicalLocation", {}).get("artifactLocation", {})
            out.append((artifact.get("uri"), artifact.get("uriBaseId"),
                        loc.get("physicalLocation", {}).get("region", {}).get("startLine"),
                        (loc.get("logicalLocations") or [{}])[0].get("fullyQualifiedName")))
        return sorted(out, key=str)

    def fingerprints(self):
        return sorted((r["ruleId"], r["partialFingerprints"][FINGERPRINT]) for r in self.results)

    def shim_text_reports(self):
        texts = []
        for name in sorted(os.listdir(self.reports_dir)):
            if name.endswith(".txt"):
                with open(os.path.join(self.reports_dir, name)) as f:
                    texts.append(f.read())
        return texts


def summary_of(text, what):
    try:
        return ci_validate.summary_numbers(text)
    except ci_validate.Invalid as e:
        check(False, what, str(e))
        return None


def test_leak_basic():
    section("leak_basic (raw libpq)")
    c = CiRun([program("leak_basic")], options=["--exitcode", "23"])
    eq(c.run.status, 23, "exit status: the gate")
    markers = {f: marker_line("leak_basic.c", f) for f in ("open_report_db", "open_session", "open_missing_db")}
    located = c.located("leaked_connection")
    eq(sorted(l[3] for l in located), sorted(markers), "a result per leak group, at the function that connected")
    for uri, base, line, function in located:
        eq((uri, base, line), (LEAK_BASIC_C, "SRCROOT", markers.get(function)),
           "%s located at its PQconnectdb line, relative to the source root" % function)
    leak = next((r for r in c.results if r["ruleId"] == "leaked_connection"), {})
    steps = leak.get("codeFlows", [{}])[0].get("threadFlows", [{}])[0].get("locations", [])
    names = [s["location"].get("logicalLocations", [{}])[0].get("fullyQualifiedName") for s in steps]
    check("main" in names and names.index("main") < len(names) - 1, "the code flow holds the stack, main before the leak", names)

    shim_summary = [summary_of(t, "the shim's text report ends with SUMMARY") for t in c.shim_text_reports()]
    run_summary = summary_of(c.run.stderr, "run's summary ends with SUMMARY")
    eq(shim_summary, [run_summary], "the shim's SUMMARY and run's agree")
    if run_summary:
        eq(run_summary[0], sum(r.get("properties", {}).get("count", 0) for r in c.results
                               if r["ruleId"] == "leaked_connection"), "SARIF counts the leaked connections")

    errors = [a for a in c.github if a["command"] == "error"]
    eq(sorted((a["properties"].get("file"), int(a["properties"].get("line", 0))) for a in errors),
       sorted((LEAK_BASIC_C, line) for line in markers.values()), "an ::error annotation per leak group at its line")
    check(all("#0 " in a["message"] for a in errors), "annotations carry a short stack")

    if c.junit is not None:
        cases = c.junit.findall("./testsuite/testcase")
        eq(len(cases), 1 + len(markers), "JUnit: the process and each leak group")
        failures = [x for x in cases if x.find("failure") is not None]
        eq(len(failures), len(cases), "every case fails: the process leaked")
        check(all(LEAK_BASIC_C.split("/")[-1] in (x.find("failure").text or "") for x in failures[1:]),
              "failures carry the stack with file:line")

    section("leak_basic again: the same fingerprints, other pids")
    again = CiRun([program("leak_basic")])
    eq(again.fingerprints(), c.fingerprints(), "partialFingerprints are stable across runs")

    section("leak_basic with one leak suppressed")
    supp = os.path.join(tmpdir(), "poolwatch.supp")
    with open(supp, "w") as f:
        f.write("leak:open_session\n")
    s = CiRun([program("leak_basic")], options=["--suppressions", supp, "--exitcode", "23"])
    eq(s.run.status, 23, "the other leaks still trip the gate")
    suppressed = [r for r in s.results if r.get("suppressions")]
    eq(len(suppressed), 1, "the suppressed group is one result with a suppression")
    for r in suppressed:
        eq(r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "open_session", "the suppressed one")
        eq(r["suppressions"][0]["kind"], "external", "suppression kind")
    eq(len([r for r in s.results if not r.get("suppressions")]), 2, "the others are open results")
    if s.junit is not None:
        eq(len(s.junit.findall("./testsuite/testcase/skipped")), 1, "JUnit: the suppressed group is skipped")


def test_libzdb():
    section("zdb_pool exhaust (libzdb): leaked checkouts and findings")
    # pool_not_closed is found at exit, with no stack: it is located at the
    # program, a file without lines, which SARIF2017 notes.
    c = CiRun([program("zdb_pool"), "exhaust"], accepted={"SARIF2017"})
    checkouts = c.located("leaked_checkout")
    check(checkouts, "leaked checkouts are reported", c.results)
    lines = {marker_line("zdb_pool.c", m) for m in ("report_checkout", "visit_checkout")}
    for uri, base, line, function in checkouts:
        eq(uri, ZDB_POOL_C, "a leaked checkout is located in the program, past libzdb and poolwatch")
        check(line in lines, "at a ConnectionPool_getConnection line", (line, lines))
    checkin = c.located("checkin_in_transaction")
    eq([l[:3] for l in checkin], [(ZDB_POOL_C, "SRCROOT", marker_line("zdb_pool.c", "checkin_in_transaction"))],
       "checkin_in_transaction at the Connection_close line")
    exhausted = c.located("pool_exhausted")
    check(exhausted and all(l[0] == ZDB_POOL_C for l in exhausted), "pool_exhausted in the program", exhausted)
    levels = {r["ruleId"]: r["level"] for r in c.results}
    eq(levels.get("leaked_checkout"), "error", "leaks are errors")
    eq(levels.get("checkin_in_transaction"), "warning", "findings are warnings")
    warnings = [a for a in c.github if a["command"] == "warning"]
    eq(len(warnings), len([r for r in c.results if r["level"] == "warning"]), "a ::warning per finding")


def test_github_actions():
    section("on GitHub Actions, annotations come by themselves")
    c = CiRun([program("leak_basic")], ci_flags=False,
              env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": SOURCE})
    files = {a["properties"].get("file") for a in c.github}
    eq(files, {LEAK_BASIC_C}, "annotations relative to $GITHUB_WORKSPACE")


def test_python():
    section("psycopg2 (Python)")
    script = os.path.join(EXAMPLES_SRC, "leaky_psycopg2.py")
    # Until stacks carry Python frames, a psycopg2 leak's frames are all in
    # the driver and the interpreter: it is located at the innermost one, a
    # library without lines, which SARIF2017 notes.
    c = CiRun([PYTHON, script], accepted={"SARIF2017"})
    leaks = [r for r in c.results if r["ruleId"] == "leaked_connection"]
    check(leaks, "the psycopg2 leak is a SARIF result", c.results)
    python_frames = any(f.get("language") == "python"
                        for name in os.listdir(c.reports_dir) if name.endswith(".json") and "dashboard" not in name
                        for g in __import__("json").load(open(os.path.join(c.reports_dir, name))).get("leaks", [])
                        for f in g.get("stack", []))
    for uri, base, line, function in c.located("leaked_connection"):
        if python_frames:
            eq(uri, "examples/leaky_psycopg2.py", "located at the .py line of the user's code")
        else:
            check(line is None and not (uri or "").startswith("../"),
                  "not located at a line of the interpreter's own sources", (uri, line))
    check(summary_of(c.run.stderr, "SUMMARY last") is not None, "run's summary ends with SUMMARY")


def test_clean():
    section("clean_all_apis: a clean run")
    c = CiRun([program("clean_all_apis")], options=["--exitcode", "23"])
    eq(c.run.status, 0, "exit status")
    eq(c.results, [], "no SARIF results")
    eq(c.github, [], "no annotations")
    if c.junit is not None:
        eq(c.junit.get("failures"), "0", "JUnit: no failures")
        eq(len(c.junit.findall("./testsuite/testcase")), 1, "JUnit: one passing case, the process")
    eq(summary_of(c.run.stderr, "SUMMARY last"), (0, 0, 0, 0, 0), "SUMMARY of a clean run")


def test():
    check(POOLWATCH and os.path.exists(POOLWATCH), "PWTEST_POOLWATCH is the poolwatch command", POOLWATCH)
    check(SARIF_CACHE, "PWTEST_SARIF_CACHE is set")
    test_leak_basic()
    test_libzdb()
    test_github_actions()
    test_python()
    test_clean()


main(test)
