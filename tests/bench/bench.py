"""The overhead benchmark's driver; run.sh builds, starts a server and runs it.

Every workload runs without and with libpoolwatch.so preloaded, in turn
(A/B/A/B...) for several rounds, so drift on the machine hits both alike;
the table shows the medians. A ratio is throughput with the shim divided by
throughput without: 1.00 costs nothing, 0.50 is half as fast.
"""

import argparse
import glob
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT_STACK_DEPTH = 32  # POOLWATCH_STACK_DEPTH's default (DESIGN.md)


def parse(text):
    """key=value pairs printed by the workloads, as floats."""
    return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", text)}


class Runner:
    def __init__(self, build, quick):
        self.lib = os.path.join(build, "shim", "libpoolwatch.so")
        self.bin = os.path.join(build, "tests", "bench")
        self.quick = quick
        self.rounds = 3 if quick else 5
        self.seconds = 0.2 if quick else 1.0

    def env(self, shim, extra=None):
        # Nothing of the caller's poolwatch settings leaks into a run.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("POOLWATCH_") and k != "LD_PRELOAD"}
        if shim:
            env["LD_PRELOAD"] = self.lib
            env.update(extra or {})
        return env

    def run(self, argv, shim, extra=None):
        """Runs ARGV; returns its stdout and when it ended (monotonic ns)."""
        p = subprocess.run(argv, env=self.env(shim, extra), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        ended = time.monotonic_ns()
        if p.returncode != 0:
            sys.exit(f"bench: {' '.join(argv)} failed ({p.returncode}):\n{p.stderr}")
        return p.stdout, ended

    def ab(self, measure, rounds=None):
        """MEASURE(shim) -> number, alternating without/with each round."""
        without, with_ = [], []
        for _ in range(rounds or self.rounds):
            without.append(measure(False))
            with_.append(measure(True))
        return without, with_


class Row:
    """One line of the table. KIND: 'time' (lower is better) or 'rate'."""

    def __init__(self, name, kind, unit, without, with_, target=None):
        self.name, self.kind, self.unit = name, kind, unit
        self.without, self.with_ = without, with_
        self.target = target  # (text, check(row) -> bool)

    def a(self):
        return statistics.median(self.without)

    def b(self):
        return statistics.median(self.with_)

    def ratio(self):
        return self.a() / self.b() if self.kind == "time" else self.b() / self.a()

    def ratio_range(self):
        rs = [w / s if self.kind == "time" else s / w for w, s in zip(self.without, self.with_)]
        return min(rs), max(rs)

    def added(self):
        return self.b() - self.a() if self.kind == "time" else None


def fmt(value, unit):
    if unit == "ns":
        return f"{value:,.0f} ns" if value >= 100 or value <= -100 else f"{value:.1f} ns"
    if unit == "ms":
        return f"{value / 1e6:,.2f} ms"
    if unit == "s":
        return f"{value / 1e9:.3f} s"
    return f"{value:,.0f} {unit}"


# ---- workloads ---------------------------------------------------------------

def pairs(r, pool, threads, frames=0, extra=None):
    def measure(shim):
        out, _ = r.run([f"{r.bin}/pwbench", pool, str(threads), str(r.seconds), str(frames)],
                       shim, extra)
        return parse(out)["ns_per_op"]
    return r.ab(measure)


def connects(r):
    count = 30 if r.quick else 100
    def measure(shim):
        out, _ = r.run([f"{r.bin}/pwbench", "connect", str(count)], shim)
        return parse(out)["ns_per_op"]
    return r.ab(measure, rounds=r.rounds + 2)


def pgbench(r):
    subprocess.run(["pgbench", "-i", "-s", "1", "-q"], env=r.env(False), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tx = "1000" if r.quick else "5000"
    def measure(shim):
        out, _ = r.run(["pgbench", "-S", "-n", "-c", "2", "-t", tx], shim)
        return float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))
    return r.ab(measure, rounds=r.rounds + 2)


def exit_report(r, out_dir):
    """Time from exit() to the process being gone, and what the report said."""
    checked = {}
    def measure(shim):
        for f in glob.glob(os.path.join(out_dir, "*")):
            os.unlink(f)
        out, ended = r.run([f"{r.bin}/pwbench_exit"], shim, {"POOLWATCH_OUTPUT_DIR": out_dir})
        if shim:
            reports = glob.glob(os.path.join(out_dir, "poolwatch-*[0-9].json"))
            if len(reports) != 1:
                sys.exit("bench: the exit report workload wrote no JSON report")
            with open(reports[0]) as f:
                summary = json.load(f)["summary"]
            checked.update(leaked=summary["leaked_checkouts"], groups=summary["leak_groups"])
        return ended - parse(out)["exit_at_ns"]
    without, with_ = r.ab(measure)
    return without, with_, checked


def memory(r, what, n):
    """Bytes per item: growth of the RSS with the shim minus without."""
    def measure(shim):
        out, _ = r.run([f"{r.bin}/pwbench", what, str(n)], shim, {"POOLWATCH_QUIET": "1"})
        v = parse(out)
        return v["bytes"], v["count"]
    without, with_ = r.ab(measure, rounds=3)
    count = with_[0][1]
    return (statistics.median(b for b, _ in with_) - statistics.median(b for b, _ in without)) / count, count


# ---- the table ---------------------------------------------------------------

def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pg = subprocess.run(["pgbench", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    return [f"nproc: {os.cpu_count()}", f"CPU: {cpu}",
            f"kernel: {platform.system()} {platform.release()} {platform.machine()}",
            f"PostgreSQL client: {pg}", f"python: {platform.python_version()}"]


def table(rows):
    lines = ["| workload | without shim | with shim | ratio (range) | added | target | met |",
             "|---|---:|---:|---:|---:|---|---|"]
    for row in rows:
        lo, hi = row.ratio_range()
        added = row.added()
        added_text = "" if added is None else ("+" if added >= 0 else "") + fmt(added, row.unit)
        target, met = ("", "")
        if row.target:
            target, check = row.target
            met = "yes" if check(row) else "NO"
        ratio = f"{row.ratio():.2f} ({lo:.2f}–{hi:.2f})" if row.unit != "s" else "—"
        lines.append(f"| {row.name} | {fmt(row.a(), row.unit)} | {fmt(row.b(), row.unit)} | "
                     f"{ratio} | {added_text} | {target} | {met} |")
    return lines


# ---- profile ----------------------------------------------------------------

HARNESS = {"clone", "start_thread", "worker_main", "run_at_depth", "zdb_pairs", "PROGRAM TOTALS"}


def callgrind_costs(path, inclusive):
    """{(function, object): Ir} from callgrind_annotate."""
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                          "--threshold=100", path], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    costs = {}
    for m in re.finditer(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+?)(?: \[(.*)\])?$", out, re.M):
        function = m.group(2).rsplit(":", 1)[-1].split("@")[0]
        key = (function, os.path.basename(m.group(3) or ""))
        costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    return costs


def profile(r, out_dir):
    """Where the shim's time goes per libzdb checkout+checkin pair (1 thread).

    callgrind counts instructions (Ir) only inside zdb_pairs, the timed loop,
    so start-up and the exit report are left out; dividing by the pairs run
    gives a cost per pair that does not depend on the machine's speed."""
    lines = ["# Profile: libzdb checkout+checkin, 1 thread", ""]
    per_pair = {}
    for shim in (False, True):
        path = os.path.join(out_dir, f"callgrind.{'with' if shim else 'without'}")
        out, _ = r.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={path}",
                        "--toggle-collect=zdb_pairs", f"{r.bin}/pwbench", "zdb", "1",
                        "0.5" if r.quick else "2"], shim)
        pairs_run = parse(out)["total_pairs"]
        inclusive = callgrind_costs(path, True)
        self_ = callgrind_costs(path, False)
        total = sum(self_.values())
        per_pair[shim] = total / pairs_run
    lines += [f"Instructions per pair: {per_pair[False]:,.0f} without the shim, "
              f"{per_pair[True]:,.0f} with (+{per_pair[True] - per_pair[False]:,.0f}); "
              f"callgrind files in {out_dir}", "",
              "| function | object | inclusive Ir/pair | self Ir/pair |", "|---|---|---:|---:|"]
    for (function, obj), ir in sorted(inclusive.items(), key=lambda kv: -kv[1]):
        if function in HARNESS or ir / pairs_run < 5:
            continue
        lines.append(f"| {function} | {obj} | {ir / pairs_run:,.0f} | "
                     f"{self_.get((function, obj), 0) / pairs_run:,.0f} |")

    # perf samples real time, so it also shows what instruction counts
    # miss: cache misses and contention between threads.
    if shutil.which("perf"):
        for threads in (1, 4):
            data = os.path.join(out_dir, f"perf.{threads}")
            r.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "10000", "-o", data, "--",
                   f"{r.bin}/pwbench", "zdb", str(threads), "1" if r.quick else "3"], True)
            report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                     "--sort", "dso,sym", "--percent-limit", "1"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True).stdout
            lines += ["", f"perf, libzdb pairs with the shim, {threads} thread(s): "
                      "share of CPU time by function (self)", "", "```"]
            lines += [l for l in report.splitlines() if l.strip() and not l.startswith("#")]
            lines += ["```"]
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="profile the shim (callgrind, perf) instead of timing it")
    ap.add_argument("--out", help="also write the results (markdown) here")
    args = ap.parse_args()
    r = Runner(args.build, args.quick)
    if args.profile:
        out_dir = os.path.join(args.build, "bench-profile")
        os.makedirs(out_dir, exist_ok=True)
        text = "\n".join(profile(r, out_dir)) + "\n"
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
        return
    started = time.monotonic()

    rows = []
    def add(*a, **k):
        rows.append(Row(*a, **k))
        print(f"  {rows[-1].name}: ratio {rows[-1].ratio():.2f}", file=sys.stderr, flush=True)

    print(f"bench: {r.rounds} rounds of {r.seconds} s per workload and side", file=sys.stderr)
    zdb = {}
    for t in (1, 2, 4):
        zdb[t] = Row(f"libzdb checkout+checkin, {t} thread{'s' if t > 1 else ''} (ns/pair)",
                     "time", "ns", *pairs(r, "zdb", t))
        rows.append(zdb[t])
        print(f"  {zdb[t].name}: ratio {zdb[t].ratio():.2f}", file=sys.stderr, flush=True)
    zdb[1].target = ("added ≤ 100 ns", lambda row: row.added() <= 100)
    # The ratio as slowdown (time with / time without) may grow by 25% at most.
    zdb[4].target = ("≥ 0.80 × 1-thread ratio", lambda row: row.ratio() >= zdb[1].ratio() / 1.25)
    add("libzdb, 1 thread, POOLWATCH_STACK_DEPTH=1", "time", "ns",
        *pairs(r, "zdb", 1, extra={"POOLWATCH_STACK_DEPTH": "1"}))
    add("libzdb, 1 thread, call site 40 frames deep", "time", "ns", *pairs(r, "zdb", 1, frames=40))
    for t in (1, 2, 4):
        add(f"annotated pool, {t} thread{'s' if t > 1 else ''} (ns/pair)", "time", "ns",
            *pairs(r, "api", t))
    add("PQconnectdb + PQfinish, unix socket (per connect)", "time", "ms", *connects(r),
        target=("ratio ≥ 0.99", lambda row: row.ratio() >= 0.99))
    add("pgbench -S -n -c 2 (tps)", "rate", "tps", *pgbench(r),
        target=("ratio ≥ 0.98", lambda row: row.ratio() >= 0.98))
    with tempfile.TemporaryDirectory(prefix="pwbench-") as out_dir:
        without, with_, checked = exit_report(r, out_dir)
    add("exit: 100,000 leaked checkouts, 1,000 stacks (exit() to process end)", "time", "s",
        without, with_, target=("< 2 s", lambda row: row.b() < 2e9))

    per_checkout, n_checkouts = memory(r, "mem-checkouts", 100000)
    per_stack, n_stacks = memory(r, "mem-stacks", 12)

    lines = ["# poolwatch overhead benchmark", ""]
    lines += [f"- {m}" for m in machine()]
    lines += [f"- default POOLWATCH_STACK_DEPTH: {DEFAULT_STACK_DEPTH}",
              f"- {r.rounds} rounds per workload, without and with the shim in turn; "
              f"medians{' (--quick)' if r.quick else ''}",
              "- ns/pair: wall time × threads ÷ pairs (what each thread pays per pair)",
              "- ratio: throughput with the shim ÷ without (1.00: no cost); "
              "range: lowest and highest of the rounds", ""]
    lines += table(rows)
    lines += ["", f"Exit report check: {checked.get('leaked', '?'):,} leaked checkouts "
              f"in {checked.get('groups', '?'):,} groups (expected 100,000 in 1,000).", "",
              "| memory | bytes each | measured over |", "|---|---:|---:|",
              f"| per tracked live checkout | {per_checkout:,.0f} | {n_checkouts:,.0f} checkouts "
              f"(target < 300: {'yes' if per_checkout < 300 else 'NO'}) |",
              f"| per interned stack ({DEFAULT_STACK_DEPTH} frames) | {per_stack:,.0f} | "
              f"{n_stacks:,.0f} distinct stacks |", "",
              f"Took {time.monotonic() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"bench: results written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
