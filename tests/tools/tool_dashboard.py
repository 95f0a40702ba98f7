"""Cases of `poolwatch dashboard`: the seed and Grafana dashboards, and the
metric names they query."""
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
