"""The overhead benchmark's driver; run.sh builds, starts a server and runs it.

Every workload runs without and with libpoolwatch.so preloaded, in turn
(A B B A A B ...) for several rounds, so drift on the machine hits both
alike; the table shows the medians. A ratio is throughput with the shim
divided by throughput without: 1.00 costs nothing, 0.50 is half as fast.
"""

import argparse
import glob
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_counts import (DEFAULT_STACK_DEPTH, callgrind_capture, callgrind_per_connect,  # noqa: E402
                          callgrind_per_pair, callgrind_sqlalchemy_pairs, callgrind_start,
                          callgrind_total, have_callgrind, live_view, mapped_objects, page_faults,
                          parse)


class Runner:
    def __init__(self, build, quick):
        self.build = build
        self.lib = os.path.join(build, "shim", "libpoolwatch.so")
        self.bin = os.path.join(build, "tests", "bench")
        self.tool = os.path.join(build, "tools", "poolwatch")
        self.quick = quick
        self.rounds = 3 if quick else 5
        # Connects and pgbench vary more from run to run: more rounds.
        self.noisy_rounds = 5 if quick else 9
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
        """Runs ARGV; returns its stdout, when it ended (monotonic ns) and
        the CPU time it used (ns, user + system)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(argv, env=self.env(shim, extra), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        ended = time.monotonic_ns()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            sys.exit(f"bench: {' '.join(argv)} failed ({p.returncode}):\n{p.stderr}")
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return p.stdout, ended, cpu * 1e9

    def ab(self, measure, rounds=None):
        """MEASURE(shim) -> number, without and with the shim in turn. Every
        other round starts with the shim (A B B A ...), so whatever the
        first run of a pair leaves behind (dirty caches, backends still
        exiting) falls on both sides alike."""
        without, with_ = [], []
        for i in range(rounds or self.rounds):
            for shim in (False, True) if i % 2 == 0 else (True, False):
                (with_ if shim else without).append(measure(shim))
        return without, with_

    def ab2(self, measure, rounds=None):
        """As ab, for a MEASURE that returns two numbers: two sample sets."""
        without, with_ = self.ab(measure, rounds)
        return (([a for a, _ in without], [a for a, _ in with_]),
                ([b for _, b in without], [b for _, b in with_]))


class Row:
    """One line of the table. KIND: 'time' (lower is better) or 'rate'."""

    def __init__(self, name, kind, unit, samples, target=None):
        self.name, self.kind, self.unit = name, kind, unit
        self.without, self.with_ = samples
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
        return f"{value:,.0f} ns" if abs(value) >= 100 else f"{value:.1f} ns"
    if unit == "us":
        return f"{value / 1e3:,.1f} µs"
    if unit == "ms":
        return f"{value / 1e6:,.2f} ms"
    if unit == "s":
        return f"{value / 1e9:.3f} s"
    return f"{value:,.0f} {unit}"


# ---- workloads ---------------------------------------------------------------

def pairs(r, pool, threads, frames=0, extra=None):
    """Wall ns per pair, and the process's CPU ns per pair (less disturbed
    by other processes on a busy machine)."""
    def measure(shim):
        out, _, cpu = r.run([f"{r.bin}/pwbench", pool, str(threads), str(r.seconds),
                             str(frames)], shim, extra)
        v = parse(out)
        return v["ns_per_op"], cpu / v["total_pairs"]
    return r.ab2(measure)


# A connect takes milliseconds and varies with the server and the machine's
# load. The client's CPU time is measured too: that is where the shim's cost
# lands, and other processes disturb it far less.
def connects(r):
    count = 30 if r.quick else 150
    def measure(shim):
        out, _, cpu = r.run([f"{r.bin}/pwbench", "connect", str(count)], shim)
        return parse(out)["ns_per_op"], cpu / count
    return r.ab2(measure, rounds=r.noisy_rounds)


def pgbench(r):
    subprocess.run(["pgbench", "-i", "-s", "1", "-q"], env=r.env(False), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients, tx = 2, 1000 if r.quick else 8000
    def measure(shim):
        out, _, cpu = r.run(["pgbench", "-S", "-n", "-c", str(clients), "-t", str(tx)], shim)
        tps = float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))
        return tps, cpu / (clients * tx)
    return r.ab2(measure, rounds=r.noisy_rounds)


# A language's stack capture: CPU ns per annotated checkout+checkin from
# code FRAMES frames deep in that language, with POOLWATCH_STACK_DEPTH=0
# (no stack) and the default: the difference is one capture of a stack in
# that language. Both sides run under the shim, in turn, as the other
# workloads do. Each script prints ns_per_op (the thread's CPU time).
CAPTURE_SCRIPTS = {
    "Python": ["/usr/bin/python3", "python_capture.py"],
    "Ruby": ["ruby", "ruby_capture.rb"],
    "Perl": ["perl", "perl_capture.pl"],
}


def capture_command(r, language):
    """The capture script of LANGUAGE and the environment it needs."""
    interpreter, script = CAPTURE_SCRIPTS[language]
    argv = [interpreter, os.path.join(os.path.dirname(os.path.abspath(__file__)), script)]
    # Perl reaches the shim through poolwatch's XS module.
    return argv, {"PERL5LIB": os.path.join(r.build, "shim", "poolwatch", "perl")}


def source_capture(r, language, frames=20):
    argv, extra = capture_command(r, language)
    no_stack, stack = [], []
    for i in range(r.rounds):
        for depth in (0, DEFAULT_STACK_DEPTH) if i % 2 == 0 else (DEFAULT_STACK_DEPTH, 0):
            out, _, _ = r.run(argv + [str(r.seconds), str(frames)], True,
                              {"POOLWATCH_STACK_DEPTH": str(depth), "POOLWATCH_QUIET": "1", **extra})
            (stack if depth else no_stack).append(parse(out)["ns_per_op"])
    return no_stack, stack


# A SQLAlchemy pool's checkout+checkin as a Python service pays it: the
# plain interpreter against the same under `poolwatch run`, which adds the
# preload and the Python package (its methods in C in place of
# Pool.connect and the record's checkin). Wall and CPU ns per pair.
def sqlalchemy_pairs(r):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sqlalchemy_pairs.py")

    def measure(shim):
        argv = ["/usr/bin/python3", script, str(r.seconds)]
        with tempfile.TemporaryDirectory(prefix="pwbench-") as out_dir:
            if shim:
                argv = [r.tool, "run", "--quiet", "--output", out_dir, "--"] + argv
            out, _, _ = r.run(argv, False)
        v = parse(out)
        return v["ns_per_op"], v["cpu_ns_per_op"]
    return r.ab2(measure)


def process_start(r):
    """Start and exit of a program that never touches libpq (/bin/true):
    what every process pays that inherits the preload, a shell or a
    compiler under `poolwatch run make` included. pwstart starts it with no
    preload, an empty preloaded library and the shim in turn, and gives each
    one's median; an empty library shows what any preload costs. Returns
    the samples without, with the empty library, and with the shim."""
    count = 400 if r.quick else 2000
    empty = os.path.join(r.bin, "libpwbench_empty.so")
    samples = ([], [], [])
    for _ in range(r.rounds):
        out, _, _ = r.run([f"{r.bin}/pwstart", str(count), "/bin/true", "-", empty, r.lib], False)
        for line, sample in zip(out.splitlines(), samples):
            sample.append(float(line.split("median_ns=")[1]))
    return samples


def exit_report(r, out_dir):
    """Time from exit() to the process being gone, and what the report said."""
    checked = {}
    def measure(shim):
        for f in glob.glob(os.path.join(out_dir, "*")):
            os.unlink(f)
        out, ended, _ = r.run([f"{r.bin}/pwbench_exit"], shim, {"POOLWATCH_OUTPUT_DIR": out_dir})
        if shim:
            reports = glob.glob(os.path.join(out_dir, "poolwatch-*[0-9].json"))
            if len(reports) != 1:
                sys.exit("bench: the exit report workload wrote no JSON report")
            with open(reports[0]) as f:
                summary = json.load(f)["summary"]
            checked.update(leaked=summary["leaked_checkouts"], groups=summary["leak_groups"])
        return ended - parse(out)["exit_at_ns"]
    return r.ab(measure), checked


def memory(r, what, n):
    """Bytes per item: the RSS growth with the shim minus without."""
    def measure(shim):
        out, _, _ = r.run([f"{r.bin}/pwbench", what, str(n)], shim, {"POOLWATCH_QUIET": "1"})
        v = parse(out)
        return v["bytes"], v["count"]
    without, with_ = r.ab(measure, rounds=3)
    count = with_[0][1]
    grown = statistics.median(b for b, _ in with_) - statistics.median(b for b, _ in without)
    return grown / count, count


# ---- the table ---------------------------------------------------------------

def load():
    return os.getloadavg()[0]


def shim_version():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    git = ["git", "-C", root]
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True).stdout.strip()
    dirty = subprocess.run(git + ["status", "--porcelain", "--", "shim"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return f"commit {head or 'unknown'}" + (", with uncommitted changes in shim/" if dirty else "")


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
            f"PostgreSQL: {pg}", f"shim: {shim_version()}"]


def table(rows):
    lines = ["| workload | without shim | with shim | ratio (range) | added | target | met |",
             "|---|---:|---:|---:|---:|---|---|"]
    for row in rows:
        lo, hi = row.ratio_range()
        added = row.added()
        added_text = "" if added is None else ("+" if added >= 0 else "") + fmt(added, row.unit)
        ratio = "—" if row.unit == "s" else f"{row.ratio():.2f} ({lo:.2f}–{hi:.2f})"
        target = met = ""
        if row.target:
            target, check = row.target
            met = "yes" if check(row) else "NO"
        lines.append(f"| {row.name} | {fmt(row.a(), row.unit)} | {fmt(row.b(), row.unit)} | "
                     f"{ratio} | {added_text} | {target} | {met} |")
    return lines


def benchmark(r):
    started, load_before = time.monotonic(), load()
    rows = []

    def add(*a, **k):
        rows.append(Row(*a, **k))
        print(f"bench: {rows[-1].name}: ratio {rows[-1].ratio():.2f}", file=sys.stderr, flush=True)
        return rows[-1]

    print(f"bench: {r.rounds} rounds of {r.seconds} s per workload and side", file=sys.stderr)
    have_sqlalchemy = subprocess.run(["/usr/bin/python3", "-c", "import sqlalchemy, psycopg2"]
                                     ).returncode == 0
    ir = {"zdb": callgrind_per_pair(r, "zdb"), "api": callgrind_per_pair(r, "api"),
          "connect": callgrind_per_connect(r), "start": callgrind_start(r),
          "start_empty": callgrind_start(r, os.path.join(r.bin, "libpwbench_empty.so")),
          "sqlalchemy": callgrind_sqlalchemy_pairs(r) if have_sqlalchemy else None,
          "engine": callgrind_sqlalchemy_pairs(r, mode=("--engine",)) if have_sqlalchemy else None}
    # The hooks' own count has nothing to compare with: 0 "without".
    ir["hooks"] = (0, ir["connect"][2]) if ir["connect"] else None
    captures = {language: callgrind_capture(r, *capture_command(r, language))
                for language in CAPTURE_SCRIPTS if shutil.which(CAPTURE_SCRIPTS[language][0])}
    wall, cpu = pairs(r, "zdb", 1, frames=DEFAULT_STACK_DEPTH)
    zdb1 = add(f"libzdb checkout+checkin, 1 thread, stack depth {DEFAULT_STACK_DEPTH} (ns/pair)",
               "time", "ns", wall, target=("added ≤ 100 ns", lambda row: row.added() <= 100))
    add("… CPU time per pair", "time", "ns", cpu)
    # As a slowdown (time with ÷ time without), 2 and 4 threads may be 25%
    # worse than 1.
    for t in (2, 4):
        add(f"libzdb checkout+checkin, {t} threads, depth {DEFAULT_STACK_DEPTH}", "time", "ns",
            pairs(r, "zdb", t, frames=DEFAULT_STACK_DEPTH)[0],
            target=("≥ 1-thread ratio ÷ 1.25", lambda row: row.ratio() >= zdb1.ratio() / 1.25))
    add("libzdb, 1 thread, POOLWATCH_STACK_DEPTH=1", "time", "ns",
        pairs(r, "zdb", 1, extra={"POOLWATCH_STACK_DEPTH": "1"})[0])
    add("libzdb, 1 thread, call site 40 frames deep", "time", "ns",
        pairs(r, "zdb", 1, frames=40)[0])
    add("libzdb, 1 thread, 40 frames deep, POOLWATCH_STACK_DEPTH=1", "time", "ns",
        pairs(r, "zdb", 1, frames=40, extra={"POOLWATCH_STACK_DEPTH": "1"})[0])
    for t in (1, 2, 4):
        wall, cpu = pairs(r, "api", t, frames=DEFAULT_STACK_DEPTH)
        if t == 1:
            api1 = add(f"annotated pool, 1 thread, depth {DEFAULT_STACK_DEPTH} (ns/pair)", "time",
                       "ns", wall, target=("added ≤ 100 ns", lambda row: row.added() <= 100))
            add("… CPU time per pair", "time", "ns", cpu)
        else:
            add(f"annotated pool, {t} threads, depth {DEFAULT_STACK_DEPTH}", "time", "ns", wall,
                target=("≥ 1-thread ratio ÷ 1.25",
                        lambda row: row.ratio() >= api1.ratio() / 1.25))
    # Call sites taken in turn at one stack depth, through one helper: with
    # the shim, any mix costs at most twice the single site's time per pair
    # (two sites once cost 6.5 µs against 0.32 µs for one).
    site1 = add(f"annotated pool, 1 call site, depth {DEFAULT_STACK_DEPTH} (ns/pair)", "time", "ns",
                pairs(r, "sites", 1, frames=DEFAULT_STACK_DEPTH)[0])
    for n in (2, 4):
        add(f"annotated pool, {n} call sites in turn, depth {DEFAULT_STACK_DEPTH}", "time", "ns",
            pairs(r, "sites", n, frames=DEFAULT_STACK_DEPTH)[0],
            target=("with ≤ 2× 1 site's with", lambda row: row.b() <= 2 * site1.b()))
    # Not with and without the shim: without a stack and with one.
    add(f"Python: annotated checkout+checkin 20 Python frames deep (CPU ns/pair), "
        f"POOLWATCH_STACK_DEPTH=0 → {DEFAULT_STACK_DEPTH}; added = one Python stack capture",
        "time", "ns", source_capture(r, "Python"),
        target=("added ≤ 5 µs", lambda row: row.added() <= 5000))
    for language in ("Ruby", "Perl"):
        if shutil.which(CAPTURE_SCRIPTS[language][0]):
            add(f"{language}: the same 20 {language} frames deep; added = one {language} stack "
                "capture", "time", "ns", source_capture(r, language))
    if have_sqlalchemy:
        wall, cpu = sqlalchemy_pairs(r)
        add("SQLAlchemy checkout+checkin under poolwatch run (ns/pair)", "time", "ns", wall,
            target=("≤ 1.10× (ratio ≥ 0.91)", lambda row: row.ratio() >= 1 / 1.10))
        add("… CPU time per pair", "time", "ns", cpu)
    wall, cpu = connects(r)
    add("PQconnectdb + PQfinish, unix socket (per connect)", "time", "ms", wall,
        target=("ratio ≥ 0.99", lambda row: row.ratio() >= 0.99))
    add("… client CPU time per connect", "time", "us", cpu)
    tps, cpu = pgbench(r)
    add("pgbench -S -n -c 2 (tps)", "rate", "tps", tps,
        target=("ratio ≥ 0.98", lambda row: row.ratio() >= 0.98))
    add("… pgbench CPU time per transaction", "time", "us", cpu)
    without, empty, with_ = process_start(r)
    add("start and exit of /bin/true (per process)", "time", "ms", (without, with_),
        target=("added ≤ 0.1 ms", lambda row: row.added() <= 0.1e6))
    add("… the same with an empty library preloaded instead", "time", "ms", (without, empty))
    maps = {shim: mapped_objects(r, shim) for shim in (False, True)}
    faults = page_faults(r)
    live = live_view(r)
    with tempfile.TemporaryDirectory(prefix="pwbench-") as out_dir:
        samples, checked = exit_report(r, out_dir)
    add("exit with 100,000 leaked checkouts from 1,000 stacks (exit() to process end)",
        "time", "s", samples, target=("< 2 s", lambda row: row.b() < 2e9))
    clock_costs = r.run([f"{r.bin}/pwbench", "clock"], False)[0].strip()
    per_checkout, n_checkouts = memory(r, "mem-checkouts", 100000)
    per_stack, n_stacks = memory(r, "mem-stacks", 14)

    lines = ["# poolwatch overhead benchmark", ""]
    lines += [f"- {m}" for m in machine()]
    lines += [f"- load average (1 min): {load_before:.2f} before, {load():.2f} after"
              + (" — the machine was busy: expect noise" if load_before > 0.5 * os.cpu_count()
                 else ""),
              f"- default POOLWATCH_STACK_DEPTH: {DEFAULT_STACK_DEPTH}",
              f"- one clock reading here (pwbench clock, ns): {clock_costs}",
              f"- {r.rounds} rounds per workload (connect, pgbench: {r.noisy_rounds}), without "
              f"and with the shim in turn (A B B A ...); medians{' (--quick)' if r.quick else ''}",
              "- ns/pair: wall time × threads ÷ pairs (what each thread pays per pair)",
              "- ratio: throughput with the shim ÷ without (1.00: no cost); "
              "range: lowest and highest of the rounds", ""]
    lines += table(rows)
    added_maps = [m for m in maps[True] if m not in maps[False]]
    lines += ["", "Objects a process that never uses libpq maps because of the shim (`/bin/cat "
              f"/proc/self/maps`): {', '.join(added_maps) or 'none'} (target: libpoolwatch.so "
              f"alone: {'met' if len(added_maps) == 1 and added_maps[0].startswith('libpoolwatch.so') else 'NOT met'}); page faults of "
              f"one /bin/true: {faults[0]} without, {faults[1]} with an empty library "
              f"preloaded, {faults[2]} with the shim."]
    if any(ir.values()):
        lines += ["", "| callgrind: instructions | without shim | with shim | added | target | met |",
                  "|---|---:|---:|---:|---|---|"]
        # TARGET: at most that many instructions added, or, as a string,
        # at most that ratio.
        for key, name, target in (
                ("zdb", f"libzdb checkout+checkin, 1 thread, depth {DEFAULT_STACK_DEPTH}, per pair",
                 None),
                ("api", f"annotated pool checkout+checkin, 1 thread, depth {DEFAULT_STACK_DEPTH}, "
                 "per pair", None),
                ("connect", "PQconnectdb + PQfinish, whole client, per connect", None),
                ("hooks", "… of it, poolwatch's hooks (libpq's own work left out)", 1000),
                ("start", "start and exit of /bin/true, whole process", None),
                ("start_empty", "… the same with an empty library preloaded instead", None),
                ("sqlalchemy", "SQLAlchemy 1.4 QueuePool checkout+checkin under `poolwatch "
                 "run`, per pair (2,000 pairs against 0)", "1.10"),
                ("engine", "… the same through `Engine.connect()` and `Connection.close()`",
                 "1.10")):
            if ir[key]:
                a, b = ir[key][:2]
                if isinstance(target, str):
                    met, shown = ("yes" if b <= a * float(target) else "NO"), f"≤ ×{target}"
                else:
                    met = "" if target is None else ("yes" if b - a <= target else "NO")
                    shown = "" if target is None else f"≤ +{target:,}"
                added = f"+{b - a:,.0f}" + (f" (×{b / a:.3f})" if isinstance(target, str) else "")
                lines.append(f"| {name} | {f'{a:,.0f}' if a else ''} | {b:,.0f} | {added} | {shown} "
                             f"| {met} |")
    if any(captures.values()):
        lines += ["", "| callgrind: one stack capture 20 frames deep in the language, from the "
                  "thread's cache (2,000 annotated checkouts) | instructions |", "|---|---:|"]
        lines += [f"| {language} | {n:,.0f} |" for language, n in captures.items() if n]
    one, fast = live["1s"], live["50ms"]
    lines += ["", "| live view (POOLWATCH_LIVE=1), pwbench live | without | with | added | target "
              "| met |", "|---|---:|---:|---:|---|---|",
              f"| CPU, share of one core, 1 s interval | {one['base'] * 100:.2f}% | "
              f"{one['with'] * 100:.2f}% | {one['core_share'] * 100:+.2f}% | ≤ 1% | "
              f"{'yes' if one['core_share'] <= 0.01 else 'NO'} |",
              f"| CPU per tick (measured at 50 ms) | | | {fast['per_tick_ms']:.2f} ms | ≤ 10 ms "
              f"| {'yes' if fast['per_tick_ms'] <= 10 else 'NO'} |",
              f"| RSS growth over {one['window']:.0f} s, 1 s interval | "
              f"{one['rss_growth_off'] / 1024:,.0f} KiB | {one['rss_growth'] / 1024:,.0f} KiB | | "
              f"flat (≤ 256 KiB) | {'yes' if one['rss_growth'] <= 256 * 1024 else 'NO'} |",
              f"| RSS growth over {fast['window']:.0f} s, 50 ms interval | "
              f"{fast['rss_growth_off'] / 1024:,.0f} KiB | {fast['rss_growth'] / 1024:,.0f} KiB | "
              f"| flat (≤ 256 KiB) | {'yes' if fast['rss_growth'] <= 256 * 1024 else 'NO'} |",
              f"| RSS of the kept libdw session (once) | | | {one['rss_session'] / 2**20:.1f} MiB "
              "| | |"]
    lines += ["", f"The exit report found {checked.get('leaked', 0):,} leaked checkouts in "
              f"{checked.get('groups', 0):,} groups (100,000 in 1,000 expected).", "",
              "| memory | bytes each | measured over | target | met |", "|---|---:|---:|---|---|",
              f"| per tracked live checkout | {per_checkout:,.0f} | {n_checkouts:,.0f} checkouts "
              f"| < 300 | {'yes' if per_checkout < 300 else 'NO'} |",
              f"| per interned stack of {DEFAULT_STACK_DEPTH} frames | {per_stack:,.0f} | "
              f"{n_stacks:,.0f} stacks | | |", "",
              f"Took {time.monotonic() - started:.0f} s."]
    return lines


# ---- profile ----------------------------------------------------------------

HARNESS = {"clone", "clone3", "start_thread", "worker_main", "run_at_depth", "zdb_pairs",
           "PROGRAM TOTALS"}


def callgrind_costs(path, inclusive):
    """{function: Ir} from callgrind_annotate. It merges functions of one
    name, so a hook and the libzdb function it wraps count as one."""
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                          "--threshold=100", path], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    costs = {}
    for m in re.finditer(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+?)(?: \[(.*)\])?$", out, re.M):
        function = m.group(2).rsplit(":", 1)[-1].split("@")[0]
        if function.startswith("0x") and m.group(3):  # no symbol: name its object
            function = f"{os.path.basename(m.group(3))}+{function}"
        costs[function] = costs.get(function, 0) + int(m.group(1).replace(",", ""))
    return costs


def callgrind_profile(r, out_dir):
    """Instructions per pair, counted only inside zdb_pairs (the timed loop:
    start-up and the exit report are left out). Exact and repeatable, but
    blind to what a system call or a cache miss costs: see perf below."""
    runs = {}
    for shim in (False, True):
        path = os.path.join(out_dir, f"callgrind.{'with' if shim else 'without'}")
        out, _, _ = r.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={path}",
                        "--toggle-collect=zdb_pairs", f"{r.bin}/pwbench", "zdb", "1",
                        "0.5" if r.quick else "2", str(DEFAULT_STACK_DEPTH)], shim)
        n = parse(out)["total_pairs"]
        inclusive = {f: ir / n for f, ir in callgrind_costs(path, True).items()}
        self_ = {f: ir / n for f, ir in callgrind_costs(path, False).items()}
        runs[shim] = (inclusive, self_, sum(self_.values()))
    (inc0, _, total0), (inc1, self1, total1) = runs[False], runs[True]
    lines = [f"## callgrind: libzdb checkout+checkin, 1 thread, call site {DEFAULT_STACK_DEPTH} "
             "frames deep", "",
             f"{total0:,.0f} instructions per pair without the shim, {total1:,.0f} with "
             f"(+{total1 - total0:,.0f}). Hooks have the names of the libzdb functions they "
             "wrap, and callgrind_annotate adds the two up in one row.", "",
             "| function | inclusive Ir/pair with shim | without | self Ir/pair with shim |",
             "|---|---:|---:|---:|"]
    for function, ir in sorted(inc1.items(), key=lambda kv: -kv[1]):
        if function not in HARNESS and ir >= 5:
            lines.append(f"| {function} | {ir:,.0f} | {inc0.get(function, 0):,.0f} | "
                         f"{self1.get(function, 0):,.0f} |")
    return lines


def perf_profile(r, out_dir, name, title, argv, unit, per, extra=None):
    """CPU time by function from perf's samples (cpu-clock, so it works
    without hardware counters), inclusive and self, times PER(stdout),
    in UNIT."""
    data = os.path.join(out_dir, f"perf.{name}")
    p = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "5000",
                        "--call-graph", "dwarf", "-o", data, "--"] + argv,
                       env=r.env(True, extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        return [f"## perf: {title}", "", f"perf record failed: {p.stderr.strip()[-300:]}"]
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--children",
                             "--sort", "dso,sym", "-g", "none", "--percent-limit", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    # cpu-clock counts nanoseconds of CPU time.
    total_ns = float(re.search(r"Event count \(approx\.\): (\d+)", report).group(1))
    factor = total_ns / 100 * per(p.stdout) / {"ns": 1, "ms": 1e6}[unit]
    lines = [f"## perf: {title}", "",
             f"| function | object | inclusive {unit} | self {unit} |", "|---|---|---:|---:|"]
    for m in re.finditer(r"^\s*([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(\S+)", report, re.M):
        children, self_, dso, sym = float(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
        if sym in HARNESS or sym.startswith("0x") or dso.startswith("ld-linux"):
            continue
        lines.append(f"| {sym} | {dso} | {children * factor:,.0f} | {self_ * factor:,.0f} |")
    return lines


def profile(r, out_dir):
    lines = ["# Where libpoolwatch.so spends its time", "", f"shim: {shim_version()}", ""]
    if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
        lines += callgrind_profile(r, out_dir)
    else:
        lines += ["valgrind is not installed: no instruction counts."]
    if not shutil.which("perf"):
        return lines + ["", "perf is not installed: no time profile."]
    seconds = "0.5" if r.quick else "1"
    for threads in (1, 4):
        lines += [""] + perf_profile(
            r, out_dir, f"zdb-{threads}", f"libzdb pairs with the shim, {threads} thread(s); CPU ns per pair "
            "(whole process, start-up included)",
            [f"{r.bin}/pwbench", "zdb", str(threads), seconds], "ns",
            lambda out: 1 / parse(out)["total_pairs"])
    lines += [""] + perf_profile(
        r, out_dir, "exit", "exit with 100,000 leaked checkouts from 1,000 stacks; CPU ms, whole run "
        "(on_exit_report is the exit report)", [f"{r.bin}/pwbench_exit"], "ms", lambda out: 1,
        {"POOLWATCH_OUTPUT_DIR": out_dir})
    return lines + ["", f"Raw data (callgrind_annotate, perf report -i) in {out_dir}"]


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
        shutil.rmtree(out_dir, ignore_errors=True)  # ours alone: no stale data
        os.makedirs(out_dir)
        lines = profile(r, out_dir)
    else:
        lines = benchmark(r)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"bench: written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
