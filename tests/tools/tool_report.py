"""Cases of `poolwatch report`: merging, baselines, bad and hostile files,
and the CI formats (SARIF, JUnit, GitHub annotations, the SUMMARY line)."""
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


# ---- report ----

def test_report_merges_processes():
    out, _ = poolwatch("report", fixture("run1"))
    check_in("2 processes: 4 leaked connections, 1 leaked checkout in 3 groups, 2 findings, "
             "1 suppressed", out, "summary line")
    # The shared stack merged into one group of 3 from both processes, listed first.
    first = out.index("Leaks, largest group first:")
    check_in("3 leaked connections in pool libpq, oldest 8.5 s, in processes 101, 102, opened at:",
             out[first:].splitlines()[1], "largest group first")
    check_in("#0 open_report_connection /build/orders/src/report.c:42 "
             "(/srv/app/bin/orders+0x1a2b)", out, "frame format")
    check_in("#1 ?? (/lib/x86_64-linux-gnu/libc.so.6+0x271ca)", out, "unsymbolized frame")
    check_in("1 double_finish in pool libpq, in process 101: "
             "PQfinish of a connection that is not open, at:", out, "findings")
    check_in("first finished at:\n      #0 close_report", out, "a finding's other stack")
    check_in("2 held, checked out at:\n      #0 open_report_connection", out, "holders")
    check_in("conninfo: host=db user=app password=***\n", out, "conninfo")
    check_in("conninfo: dbname=orders (not connected)", out, "a failed connection")
    check("vendor_metrics_connect" not in out, "a suppressed leak joins no group")
    check_in("orders (api) in process 101, configured size 4:", out, "pools")
    check_in("checkouts 120", out, "pool counters")
    # The dashboard file beside the reports is not read as a report.
    check("dashboard" not in out, "poolwatch-PID.dashboard.json was read as a report")
    # Naming the files gives the same as naming their directory.
    files, _ = poolwatch("report", fixture("run1", "poolwatch-101.json"),
                         fixture("run1", "poolwatch-102.json"))
    check_eq(files.replace(fixture("run1") + "/", ""), out.replace(fixture("run1") + "/", ""),
             "files versus directory")


def test_report_json_merged():
    out, _ = poolwatch("report", "--format", "json", fixture("run1"))
    d = json.loads(out)
    check_eq(d["tool"], "poolwatch", "tool")
    check_eq(d["schema"], 1, "schema")
    check_eq(d["merged"], True, "merged")
    check_eq([p["pid"] for p in d["processes"]], [101, 102], "processes")
    check_eq(d["summary"], {"processes": 2, "leaked_connections": 4, "leaked_checkouts": 1,
                            "leak_groups": 3, "suppressed": 1, "findings": 2}, "summary")
    counts = [(g["kind"], g["count"], g["pids"]) for g in d["leaks"]]
    check_eq(counts[0], ("connection", 3, [101, 102]), "largest group")
    check_eq(sorted(counts[1:]), [("checkout", 1, [101]), ("connection", 1, [102])], "others")
    check_eq(d["leaks"][0]["oldest_age_s"], 8.5, "oldest age is the maximum")
    check_eq(len(d["leaks"][0]["items"]), 3, "items of both processes")
    check_eq({i["pid"] for i in d["leaks"][0]["items"]}, {101, 102}, "items name their process")
    check_eq(sorted((p["pid"], p["name"]) for p in d["pools"]),
             [(101, "libpq"), (101, "orders"), (102, "libpq")], "pools per process")
    for g in d["leaks"]:
        for item in g["items"]:
            check("password=***" in item.get("conninfo", "password=***") or
                  "password" not in item.get("conninfo", ""), "passwords stay masked")


def test_report_json_reads_back():
    with tempfile.TemporaryDirectory() as tmp:
        merged = os.path.join(tmp, "merged.json")
        out, _ = poolwatch("report", "--format", "json", fixture("run1"))
        with open(merged, "w") as f:
            f.write(out)
        again, _ = poolwatch("report", "--format", "json", merged)
        a, b = json.loads(out), json.loads(again)
        for key in ("summary", "leaks", "findings", "pools", "processes", "suppressed_leaks"):
            check_eq(b[key], a[key], "merged report read back: " + key)
        # Merging it with another report adds that one.
        more, _ = poolwatch("report", "--format", "json", merged, fixture("clean.json"))
        check_eq(json.loads(more)["summary"]["processes"], 3, "merged plus one")


def test_report_same_file_twice():
    out, err = poolwatch("report", "--format", "json", fixture("run1"),
                         fixture("run1", "poolwatch-101.json"))
    check_eq(json.loads(out)["summary"]["leaked_connections"], 4, "counted once")
    check_in("already read", err, "a warning about the repeated report")


def test_report_baseline_shows_new_leak():
    out, _ = poolwatch("report", "--format", "json", "--baseline", fixture("baseline"),
                       fixture("run1"))
    d = json.loads(out)
    check_eq(len(d["leaks"]), 1, "only the new leak group")
    leak = d["leaks"][0]
    check_eq(leak["stack"][0]["function"], "worker_loop", "the new leak")
    check_eq(d["summary"]["leaked_connections"], 1, "new leaked connections")
    check_eq(d["summary"]["leaked_checkouts"], 0, "new leaked checkouts")
    check_eq(d["baseline"]["known_leaks"], 4, "leaks already in the baseline")
    # The baseline matched despite other line numbers, offsets, directories.
    text, _ = poolwatch("report", fixture("run1"), "--baseline",
                        fixture("baseline", "poolwatch-90.json"))
    check_in("1 leaked connection, 0 leaked checkouts in 1 group", text, "text summary")
    check_in("worker_loop", text, "new leak shown")
    check("open_report_connection" not in text.split("Leaks")[1].split("Findings")[0],
          "known leak hidden")
    check_in("4 leaks and 0 findings already in the baseline", text, "baseline note")
    check_in("2 findings", text, "findings not in the baseline stay")


def test_report_fail_on_leaks():
    poolwatch("report", "--fail-on-leaks", fixture("run1"), expect=1)
    poolwatch("report", "--fail-on-leaks", fixture("clean.json"), expect=0)
    poolwatch("report", fixture("run1"), expect=0)
    poolwatch("report", "--fail-on-leaks", "--baseline", fixture("baseline"), fixture("run1"),
              expect=1)
    # Against itself nothing is new.
    out, _ = poolwatch("report", "--fail-on-leaks", "--baseline", fixture("run1"),
                       fixture("run1"), expect=0)
    check_in("0 leaked connections, 0 leaked checkouts", out, "nothing new")


def test_report_bad_files():
    cases = [
        (fixture("bad", "truncated.json"), "not valid JSON"),
        (fixture("bad", "not-a-report.json"), "not a poolwatch report"),
        (fixture("bad", "newer-schema.json"), "schema 2"),
        (fixture("bad", "leaks-not-array.json"), "\"leaks\" is not an array"),
        (fixture("no-such-file.json"), "No such file"),
        (fixture("bad"), "no poolwatch-PID.json reports"),
    ]
    for path, message in cases:
        _, err = poolwatch("report", path, expect=125)
        check_in(message, err, "report %s" % path)
        check_in(path, err, "the message names the file")
    _, err = poolwatch("report", fixture("run1"), "--baseline", fixture("bad", "truncated.json"),
                       expect=125)
    check_in("truncated.json", err, "a bad baseline")
    poolwatch("dashboard", "--report", fixture("bad", "truncated.json"), expect=125)


# ---- CI formats (SARIF, JUnit, GitHub annotations, the SUMMARY line) ----

def ci():
    sys.path.insert(0, HERE)
    import ci_validate
    return ci_validate


def sarif_of(*args, accepted=None):
    """Runs `poolwatch report --format sarif ARGS` into a file and returns
    the document, validated by the SARIF Multitool (ACCEPTED: warnings
    allowed besides ci_validate.ACCEPTED_WARNINGS)."""
    tmp = tempfile.mkdtemp(prefix="poolwatch-sarif.")
    out, _ = poolwatch("report", "--format", "sarif", *args)
    path = os.path.join(tmp, "report.sarif")
    with open(path, "w") as f:
        f.write(out)
    try:
        return ci().validate_sarif(path, ARGS.sarif_cache,
                                   ci().ACCEPTED_WARNINGS | set(accepted or ()))
    except ci().Invalid as e:
        raise Failure(str(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def own_failure_status():
    """The status poolwatch gives its own failures, as for an unknown
    command."""
    proc = subprocess.run([ARGS.poolwatch, "frobnicate"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    check(proc.returncode not in (0, 1), "poolwatch's own failure has a status of its own")
    return proc.returncode


def result_location(result):
    physical = result["locations"][0].get("physicalLocation", {})
    return (physical.get("artifactLocation", {}).get("uri"),
            physical.get("artifactLocation", {}).get("uriBaseId"),
            physical.get("region", {}).get("startLine"))


def test_report_summary_line():
    out, _ = poolwatch("report", fixture("run1"))
    check_eq(ci().summary_numbers(out), (4, 1, 3, 2, 1), "SUMMARY of run1")
    out, _ = poolwatch("report", fixture("clean.json"))
    check_eq(ci().summary_numbers(out), (0, 0, 0, 0, 0), "SUMMARY of a clean report")
    out, _ = poolwatch("report", "--baseline", fixture("baseline"), fixture("run1"))
    check_eq(ci().summary_numbers(out), (1, 0, 1, 2, 1), "SUMMARY after --baseline")


def test_report_sarif():
    # SARIF2017 asks for a region in every result location; the suppressed
    # leak in the fixture was opened in a library without debug info, so
    # its location is the library, a file with no lines.
    doc = sarif_of("--source-root", "/", fixture("run1"), accepted={"SARIF2017"})
    check_eq(doc["version"], "2.1.0", "SARIF version")
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    check_eq(driver["name"], "poolwatch", "tool name")
    rules = {r["id"]: r for r in driver["rules"]}
    for kind in ("leaked_connection", "leaked_checkout", "pool_exhausted", "checkin_in_transaction",
                 "closed_while_checked_out", "double_checkin", "double_finish", "held_too_long",
                 "pool_not_closed"):
        check(kind in rules, "a rule for %s" % kind)
        check(len(rules[kind]["help"]["text"]) > 40, "rule %s has a help text" % kind)
    results = run["results"]
    check_eq(len(results), 6, "3 leak groups, 2 findings, 1 suppressed group")
    for r in results:
        check_eq(driver["rules"][r["ruleIndex"]]["id"], r["ruleId"], "ruleIndex agrees with ruleId")
    by_function = {}
    for r in results:
        fqn = r["locations"][0].get("logicalLocations", [{}])[0].get("fullyQualifiedName")
        by_function[(r["ruleId"], fqn)] = r
    leak = by_function[("leaked_connection", "open_report_connection")]
    check_eq(result_location(leak), ("build/orders/src/report.c", "SRCROOT", 42), "located at the user's line")
    check_eq(leak["level"], "error", "a leak is an error")
    check_eq(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///", "SRCROOT names --source-root")
    steps = leak["codeFlows"][0]["threadFlows"][0]["locations"]
    check_eq([s["location"]["logicalLocations"][0]["fullyQualifiedName"] for s in steps],
             ["main", "open_report_connection"], "code flow, outermost call first")
    checkout = by_function[("leaked_checkout", "handle_order")]
    check_eq(result_location(checkout)[0], "build/orders/src/handler.c", "libc's frame is skipped")
    check_eq(len(checkout["codeFlows"][0]["threadFlows"][0]["locations"]), 2, "the whole stack")
    finding = by_function[("double_finish", "close_twice")]
    check_eq(finding["level"], "warning", "a finding is a warning")
    check_eq(len(finding["codeFlows"]), 2, "a double finish shows both stacks")
    suppressed = [r for r in results if r.get("suppressions")]
    check_eq(len(suppressed), 1, "the suppressed group is a result")
    check_eq(suppressed[0]["suppressions"][0]["kind"], "external", "suppressed in a file")
    check_eq(result_location(suppressed[0])[0], "usr/lib/libvendor.so.1",
             "a frame without debug info is located at its module")
    fingerprints = [r["partialFingerprints"]["poolwatchGroup/v1"] for r in results]
    check_eq(len(set(fingerprints)), len(results), "fingerprints are distinct")
    # The baseline's report has the same leaks at other lines, offsets and
    # directories, as a rebuild from another checkout would: same fingerprints.
    base = sarif_of(fixture("baseline"), accepted={"SARIF2017"})["runs"][0]["results"]
    old = {(r["ruleId"], r["partialFingerprints"]["poolwatchGroup/v1"]) for r in base}
    kept = [r for r in results if (r["ruleId"], r["partialFingerprints"]["poolwatchGroup/v1"]) in old]
    check_eq(sorted(r["ruleId"] for r in kept), ["leaked_checkout", "leaked_connection"],
             "the two groups also in the baseline have the same fingerprints")


def test_report_sarif_locations():
    doc = sarif_of("--source-root", "/srv", fixture("frames"))
    results = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    check_eq(result_location(results["leaked_connection"]), ("app/handler.py", "SRCROOT", 20),
             "the first interpreted frame of the user's, past libpq, psycopg2, python3 and "
             "the user's native frame")
    check_eq(result_location(results["leaked_checkout"]), ("file:///src/app/orders.c", None, 77),
             "past poolwatch and libzdb; outside --source-root the path stays absolute")
    check_eq(result_location(results["pool_exhausted"])[2], 77,
             "a pool exhausted inside libraries is located at the holder's line")


def test_report_junit():
    with RunDir() as tmp:
        path = os.path.join(tmp, "junit.xml")
        out, _ = poolwatch("report", "--format", "junit", fixture("run1"))
        with open(path, "w") as f:
            f.write(out)
        try:
            root = ci().validate_junit(path)
        except ci().Invalid as e:
            raise Failure(str(e))
        cases = root.findall("./testsuite/testcase")
        check_eq(len(cases), 2 + 3 + 2 + 1, "a case per process, leak group, finding, suppressed group")
        check_eq(root.get("tests"), str(len(cases)), "tests=")
        failed = [c for c in cases if c.find("failure") is not None]
        check_eq(root.get("failures"), str(len(failed)), "failures=")
        check_eq(len([c for c in cases if c.find("skipped") is not None]), 1, "the suppressed group is skipped")
        leak = next(c for c in cases if "open_report_connection" in c.get("name"))
        check_in("#0 open_report_connection /build/orders/src/report.c:42", leak.find("failure").text,
                 "the failure carries the stack")
        names = [c.get("name") for c in cases if c.get("classname") != "poolwatch.process"]
        check_eq(len(set(names)), len(names), "group cases have distinct names")
        # Names stay the same across runs: the baseline's same leak, other lines.
        again, _ = poolwatch("report", "--format", "junit", fixture("baseline"))
        check_in('name="%s"' % leak.get("name"), again, "the same leak at another line keeps its name")
    with RunDir() as tmp:
        path = os.path.join(tmp, "clean.xml")
        out, _ = poolwatch("report", "--format", "junit", fixture("clean.json"))
        with open(path, "w") as f:
            f.write(out)
        root = ci().validate_junit(path)
        cases = root.findall("./testsuite/testcase")
        check_eq(len(cases), 1, "a clean run: one case, its process")
        check_eq(root.get("failures"), "0", "a clean run has no failures")


def test_report_github():
    out, _ = poolwatch("report", "--format", "github", "--source-root", "/", fixture("run1"))
    commands = ci().parse_github(out)
    check_eq(len(out.splitlines()), len(commands), "every line is a workflow command")
    check_eq(sorted(c["command"] for c in commands), ["error"] * 3 + ["warning"] * 2,
             "errors for leak groups, warnings for findings")
    first = commands[0]
    check_eq(first["properties"]["file"], "build/orders/src/report.c", "file= relative to --source-root")
    check_eq(first["properties"]["line"], "42", "line=")
    check_eq(first["properties"]["title"], "poolwatch: leaked connection", "title, unescaped")
    check_in("3 connections leaked from pool libpq", first["message"], "message")
    check_in("\n  #0 open_report_connection (report.c:42)\n  #1 main (main.c:88)", first["message"],
             "a short stack in the message")
    out, _ = poolwatch("report", "--format", "github", fixture("clean.json"))
    check_eq(out, "", "nothing to annotate in a clean run")


def test_run_ci_outputs():
    with RunDir() as tmp:
        sarif = os.path.join(tmp, "out.sarif")
        junit = os.path.join(tmp, "out.xml")
        _, err = fake_run(os.path.join(tmp, "reports"), "report", "run1/poolwatch-101.json", "child",
                          "run1/poolwatch-102.json", "exit", "0",
                          options=["--exitcode", "23", "--sarif", sarif, "--junit=" + junit,
                                   "--github", "--source-root", "/"],
                          expect=23)
        check_eq(ci().summary_numbers(err), (4, 1, 3, 2, 1), "run's summary ends with SUMMARY")
        commands = ci().parse_github(err)
        check_eq(len(commands), 5, "annotations on stderr")
        check_eq(commands[0]["properties"]["file"], "build/orders/src/report.c", "relative file=")
        with open(sarif) as f:
            check_eq(len(json.load(f)["runs"][0]["results"]), 6, "the SARIF file")
        root = ci().validate_junit(junit)
        check_eq(len(root.findall("./testsuite/testcase")), 8, "the JUnit file")
    with RunDir() as tmp:
        # On GitHub Actions the annotations come without --github, relative
        # to the workspace.
        _, err = fake_run(tmp, "report", "run1/poolwatch-101.json",
                          env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": "/"})
        commands = ci().parse_github(err)
        check_eq(len(commands), 3, "annotations by themselves")
        check(all(not c["properties"].get("file", "x").startswith("/") for c in commands),
              "paths relative to $GITHUB_WORKSPACE")
    with RunDir() as tmp:
        _, err = fake_run(tmp, "report", "clean.json")
        check_eq(ci().parse_github(err), [], "no annotations off GitHub Actions")
    with RunDir() as tmp:
        # An unwritable output is one of poolwatch's own failures: the same
        # status as a bad argument.
        _, err = fake_run(tmp, "report", "clean.json",
                          options=["--sarif", "/nonexistent/dir/out.sarif"], expect=own_failure_status())
        check_in("cannot write the SARIF file /nonexistent/dir/out.sarif", err, "an unwritable file")


def test_report_hostile_inputs():
    """Reports anyone may have edited: huge numbers, wrong types, deep
    nesting, special files, a 50 MB file, control characters. Each gives
    a clear message naming the file and status 125, or a sane result;
    never a crash, a hang or an overflow (the sanitizer run checks that)."""
    with open(fixture("baseline", "poolwatch-90.json")) as f:
        good = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        # Counts past any integer: summed and shown saturated, not wrapped.
        huge = copy.deepcopy(good)
        huge["summary"] = {k: 9223372036854775807 for k in
                           ("leaked_connections", "leaked_checkouts", "leak_groups", "suppressed", "findings")}
        for g in huge["leaks"]:
            g["count"] = 1e300
        twin = copy.deepcopy(huge)
        twin["pid"] = huge["pid"] + 1
        a, b = write("poolwatch-1.json", json.dumps(huge)), write("poolwatch-2.json", json.dumps(twin))
        out, _ = poolwatch("report", "--format", "json", a, b)
        merged = json.loads(out)
        check(all(0 < g["count"] <= 9223372036854775807 for g in merged["leaks"]),
              "huge counts saturate: %r" % [g["count"] for g in merged["leaks"]])
        check_eq(merged["summary"]["suppressed"], 9223372036854775807, "summed summaries saturate")
        poolwatch("report", a, b, "--fail-on-leaks", expect=1)

        # Wrong types where arrays and objects belong.
        for key, value, message in (("pools", {}, '"pools" is not an array'),
                                    ("leaks", [1, 2], "leaks[0] is not an object"),
                                    ("findings", "x", '"findings" is not an array'),
                                    ("pid", "12", 'no "pid"')):
            bad = copy.deepcopy(good)
            bad[key] = value
            path = write("poolwatch-3.json", json.dumps(bad))
            _, err = poolwatch("report", path, expect=TROUBLE)
            check_in(message, err, "report with %s = %r" % (key, value))
        # Wrong types deeper down are ignored, not trusted.
        odd = copy.deepcopy(good)
        for g in odd["leaks"]:
            g["stack"], g["count"], g["items"] = "not a stack", "many", {"x": 1}
        poolwatch("report", write("poolwatch-4.json", json.dumps(odd)))
        poolwatch("dashboard", "--report", write("poolwatch-5.json", json.dumps(odd)))

        # Deep nesting: refused by the parser with a message.
        deep = write("poolwatch-6.json", "[" * 100000 + "]" * 100000)
        _, err = poolwatch("report", deep, expect=TROUBLE)
        check_in("poolwatch-6.json", err, "deep nesting is refused, naming the file")

        # 50 MB: a report with a 50 MB program name loads; 300 MB of
        # whitespace is refused before parsing.
        big = copy.deepcopy(good)
        big["program"] = "x" * (50 << 20)
        path = write("poolwatch-7.json", json.dumps(big))
        out, _ = poolwatch("report", "--format", "json", path)
        check_eq(len(json.loads(out)["processes"][0]["program"]), 50 << 20, "a 50 MB field survives")
        os.unlink(path)
        path = os.path.join(tmp, "poolwatch-8.json")
        with open(path, "w") as f:
            f.truncate(300 << 20)
        _, err = poolwatch("report", path, expect=TROUBLE)
        check_in("larger than 256 MB", err, "a 300 MB file is refused")
        os.unlink(path)

        # Special files: refused at once, never read or waited on.
        fifo_dir = os.path.join(tmp, "fifo")
        os.mkdir(fifo_dir)
        fifo = os.path.join(fifo_dir, "poolwatch-9.json")
        os.mkfifo(fifo)
        for path in (fifo, "/dev/zero"):
            _, err = poolwatch("report", path, expect=TROUBLE)
            check_in("not a regular file", err, "report %s" % path)
        _, err = poolwatch("report", fifo_dir, expect=TROUBLE)
        check_in("not a regular file", err, "a FIFO inside a report directory")
        os.unlink(fifo)

        # Control characters in names: shown escaped, never as a new line or
        # an escape code.
        forged = copy.deepcopy(good)
        for g in forged["leaks"]:
            g["pool"] = "orders\npoolwatch: 0 processes: all clear\x1b[2J"
        out, _ = poolwatch("report", write("poolwatch-10.json", json.dumps(forged)))
        check("\x1b" not in out, "no escape code reaches the output")
        check(not any(l.startswith("poolwatch: 0 processes") for l in out.splitlines()),
              "no line forged by a pool name:\n" + out)
        check_in("orders\\x0apoolwatch", out, "the newline shows as \\x0a")
