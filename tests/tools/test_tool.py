#!/usr/bin/env python3
"""Tests of the poolwatch command that need no PostgreSQL.

    test_tool.py --poolwatch BIN --source-dir DIR [--static-program P]
                 [--preload-stub LIB] CASE

Each CASE is one function below named test_CASE, registered in ctest as
tool_CASE. Report fixtures in fixtures/ follow the JSON report schema of
README; `run` is tested with fake_program.sh, which writes the files the
library would, and an empty preload library, so these tests check the
command, not the library.
"""

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

ARGS = None


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


def metric_list():
    """Parses shim/common/metric_names.h: {name: type}."""
    path = os.path.join(ARGS.source_dir, "shim", "common", "metric_names.h")
    with open(path) as f:
        text = f.read()
    found = dict(re.findall(r"X\(\s*(poolwatch_\w+)\s*,\s*(\w+)\s*,", text))
    check(len(found) >= 10, "too few metrics parsed from %s: %r" % (path, found))
    return found


# ---- dashboard ----

SEED_PANELS = [
    ("Pool Connections", ["pool.checkedout", "pool.checkedin"]),
    ("Pool Wait Time", ["pool.wait_time"]),
    ("Pool Size and Overflow", ["pool.size", "pool.overflow"]),
]


def test_dashboard_simple():
    out, _ = poolwatch("dashboard")
    config = json.loads(out)
    check_eq(config["dashboard_name"], "Database Connection Pool", "dashboard_name")
    panels = config["panels"]
    for i, (title, metrics) in enumerate(SEED_PANELS):
        check_eq(panels[i]["title"], title, "panel %d title" % i)
        check_eq(panels[i]["type"], "graph", "panel %d type" % i)
        check_eq(panels[i]["metrics"], metrics, "panel %d metrics" % i)
    check(any("leak" in p["title"].lower() for p in panels), "no leaks panel")
    for p in panels:
        check("pool" not in p, "default panels name no pool")
    # The explicit format gives the same output, and json.tool accepts it.
    same, _ = poolwatch("dashboard", "--format", "simple")
    check_eq(same, out, "--format simple")
    subprocess.run([sys.executable, "-m", "json.tool"], input=out,
                   universal_newlines=True, check=True, stdout=subprocess.DEVNULL)


def test_dashboard_simple_pools_from_report():
    out, _ = poolwatch("dashboard", "--report", fixture("run1"))
    panels = json.loads(out)["panels"]
    pools = sorted({p["pool"] for p in panels})
    check_eq(pools, ["libpq", "orders"], "pools with panels")
    for p in panels:
        check_in(p["pool"], p["title"], "a pool's panel title names it")
    connections = [p for p in panels if p["metrics"] == ["pool.checkedout", "pool.checkedin"]]
    check_eq(len(connections), 2, "one connections panel per pool")


def grafana_exprs(dashboard):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target["expr"]


def check_metric_names(dashboard):
    metrics = metric_list()
    used = set()
    for panel, expr in grafana_exprs(dashboard):
        names = re.findall(r"\bpoolwatch_[a-z0-9_]+", expr)
        check(names, "panel %r: query names no poolwatch metric: %s" % (panel["title"], expr))
        for name in names:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if base != name and metrics.get(base) == "histogram":
                used.add(base)
                continue
            check(name in metrics,
                  "panel %r uses %s, which shim/common/metric_names.h does not list" % (panel["title"], name))
            check(metrics[name] != "histogram",
                  "panel %r uses histogram %s without _bucket, _sum or _count" % (panel["title"], name))
            used.add(name)
    return used


def check_grid(dashboard):
    ids = [p["id"] for p in dashboard["panels"]]
    check_eq(len(ids), len(set(ids)), "panel ids are unique")
    cells = set()
    for p in dashboard["panels"]:
        pos = p["gridPos"]
        check(pos["x"] + pos["w"] <= 24, "panel %r is wider than the grid" % p["title"])
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                check((x, y) not in cells, "panel %r overlaps another" % p["title"])
                cells.add((x, y))


def test_dashboard_grafana():
    out, _ = poolwatch("dashboard", "--format", "grafana")
    d = json.loads(out)
    check(isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 30, "schemaVersion")
    check_eq(d["id"], None, "id is null so Grafana assigns one on import")
    check(d["title"] and d["uid"], "title and uid")
    variables = {v["name"]: v for v in d["templating"]["list"]}
    check_eq(variables["datasource"]["type"], "datasource", "datasource variable type")
    check_eq(variables["datasource"]["query"], "prometheus", "datasource variable plugin")
    pool = variables["pool"]
    check_eq(pool["type"], "query", "pool variable type")
    check_eq(pool["definition"], "label_values(poolwatch_pool_size, pool)", "pool variable")
    check_eq(pool["query"]["query"], "label_values(poolwatch_pool_size, pool)", "pool query")
    check_eq(pool["datasource"]["uid"], "${datasource}", "pool variable data source")
    check(len(d["panels"]) >= 6, "enough panels")
    for panel in d["panels"]:
        check_eq(panel["type"], "timeseries", "panel type")
        check_eq(panel["datasource"], {"type": "prometheus", "uid": "${datasource}"},
                 "panel data source")
        check(panel["targets"], "panel %r has targets" % panel["title"])
        refs = [t["refId"] for t in panel["targets"]]
        check_eq(len(refs), len(set(refs)), "refIds unique in a panel")
    for _, expr in grafana_exprs(d):
        check_in('pool=~"$pool"', expr, "queries follow the pool variable")
    check_grid(d)
    used = check_metric_names(d)
    for name in ("poolwatch_pool_size", "poolwatch_pool_checked_out", "poolwatch_wait_seconds"):
        check_in(name, used, "metrics the dashboard shows")


def test_dashboard_grafana_pools_from_report():
    out, _ = poolwatch("dashboard", "--format", "grafana", "--report", fixture("run1"))
    d = json.loads(out)
    rows = [p for p in d["panels"] if p["type"] == "row"]
    check_eq([r["title"] for r in rows], ["Pool libpq", "Pool orders"], "a row per pool")
    for _, expr in grafana_exprs(d):
        check('pool="libpq"' in expr or 'pool="orders"' in expr, "query names its pool: " + expr)
    check_grid(d)
    check_metric_names(d)


def test_metric_names_follow_conventions():
    for name, kind in metric_list().items():
        check(kind in ("gauge", "counter", "histogram"), "%s: unknown type %s" % (name, kind))
        if kind == "counter":
            check(name.endswith("_total"), "counter %s ends in _total" % name)
        if kind == "histogram":
            check(name.endswith("_seconds"), "histogram %s is in seconds" % name)
        if kind == "gauge":
            check(not name.endswith("_total"), "gauge %s must not end in _total" % name)


def test_generate_dashboard_config_py():
    expected, _ = poolwatch("dashboard")
    script = os.path.join(ARGS.source_dir, "tools", "generate_dashboard_config.py")
    env = dict(os.environ, POOLWATCH_BIN=ARGS.poolwatch)
    out = subprocess.run([sys.executable, script], env=env, stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    check_eq(out, expected, "generate_dashboard_config.py output")


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


# ---- run ----

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


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--poolwatch", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--static-program")
    parser.add_argument("--preload-stub")
    parser.add_argument("--sarif-cache", help="where to install the SARIF Multitool")
    parser.add_argument("case")
    ARGS = parser.parse_args()
    test = globals().get("test_" + ARGS.case)
    if not test:
        print("no test case %s" % ARGS.case, file=sys.stderr)
        return 2
    try:
        test()
    except Failure as failure:
        print("FAIL tool_%s: %s" % (ARGS.case, failure), file=sys.stderr)
        return 1
    print("PASS tool_%s" % ARGS.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
