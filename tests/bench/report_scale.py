"""How `poolwatch report` scales with the number of reports it merges.

    /usr/bin/python3 tests/bench/report_scale.py [--poolwatch PATH] [--reports N] [--merged N]

Writes N single-process reports (default 10,000; a fixture's shape, each
with its own pid and a few leak groups shared across processes), then two
merged reports of M processes each (default 20,000), and times
`poolwatch report` over each set, text and JSON. The targets: 10,000
reports in under 5 s, and the two merged reports in a few seconds
(`report` used to compare every process and every pid with every other:
8,000 reports took 71.6 s, the two merged reports over 300 s).

Wall time on a shared machine is noisy, so CPU time is shown beside it. This is a
benchmark, not a test: nothing here fails on time."""
import argparse
import copy
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "tools", "fixtures", "run1", "poolwatch-101.json")


def timed(argv):
    """Wall time and CPU time (user + system) of one run: on a loaded
    machine the CPU time is the steadier figure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit("%s failed (%d): %s" % (" ".join(argv), proc.returncode, proc.stderr[-500:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return "%.2f s (CPU %.2f s)" % (elapsed, cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--poolwatch", default=os.path.join(HERE, "..", "..", "build", "tools", "poolwatch"))
    ap.add_argument("--reports", type=int, default=10000)
    ap.add_argument("--merged", type=int, default=20000)
    args = ap.parse_args()
    with open(FIXTURE) as f:
        template = json.load(f)

    work = tempfile.mkdtemp(prefix="pw-report-scale-")
    try:
        singles = os.path.join(work, "singles")
        os.mkdir(singles)
        for i in range(args.reports):
            r = copy.deepcopy(template)
            r["pid"] = 1000 + i
            # One leak group of its own per process besides the shared ones,
            # so groups grow with the number of processes too.
            if r.get("leaks"):
                own = copy.deepcopy(r["leaks"][0])
                own["stack"] = [{"function": "handler_%d" % (i % 500), "file": "src/h.c", "line": i % 500,
                                 "module": "/srv/app/bin/orders", "offset": "0x%x" % (0x1000 + i % 500)}]
                r["leaks"].append(own)
            with open(os.path.join(singles, "poolwatch-%d.json" % r["pid"]), "w") as f:
                json.dump(r, f)

        merged = []
        for half in range(2):
            doc = subprocess.run([args.poolwatch, "report", "--format", "json", singles],
                                 stdout=subprocess.PIPE, check=False).stdout
            m = json.loads(doc)
            # Scale the merged document to M processes with distinct pids.
            base = m["processes"][0]
            m["processes"] = [dict(base, pid=100000 * (half + 1) + i) for i in range(args.merged)]
            pids = [p["pid"] for p in m["processes"]]
            # The fixture's own groups come from every process; each
            # handler's group from the processes that ran that handler.
            for g in m["leaks"] + m["findings"]:
                frames = g.get("stack") or [{}]
                function = frames[0].get("function") or ""
                if function.startswith("handler_"):
                    h = int(function.split("_")[1])
                    g["pids"] = pids[h::500]
                else:
                    g["pids"] = pids
                g["items"] = (g.get("items") or [])[:10]
            path = os.path.join(work, "merged-%d.json" % half)
            with open(path, "w") as f:
                json.dump(m, f)
            merged.append(path)

        print("| input | text | json |")
        print("|---|---:|---:|")
        for label, inputs in (("%d reports" % args.reports, [singles]),
                              ("2 merged reports of %d processes" % args.merged, merged)):
            text = timed([args.poolwatch, "report"] + inputs)
            js = timed([args.poolwatch, "report", "--format", "json"] + inputs)
            print("| %s | %s | %s |" % (label, text, js))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
