"""Exact counts for the overhead benchmark, where wall times on a shared
machine are noise: callgrind instruction counts per pair, per connect and
for a whole process start, page faults, mapped objects, and the live
view's CPU share and RSS over a soak. Each takes bench.py's Runner."""
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile

DEFAULT_STACK_DEPTH = 32  # POOLWATCH_STACK_DEPTH's default (README)


def parse(text):
    """key=value pairs printed by the workloads, as floats."""
    return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", text)}


def callgrind_total(r, argv, collect, shim, extra=None):
    """Instructions callgrind counts inside the function COLLECT (None:
    the whole process; a list: each toggles counting on entry and exit),
    and the workload's output."""
    names = [collect] if isinstance(collect, str) else collect or []
    toggle = [f"--toggle-collect={name}" for name in names]
    with tempfile.TemporaryDirectory(prefix="pwbench-cg-") as d:
        path = os.path.join(d, "callgrind.out")
        out, _, _ = r.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={path}"]
                          + toggle + argv, shim, extra)
        annotated = subprocess.run(["callgrind_annotate", path], stdout=subprocess.PIPE,
                                   text=True, check=True).stdout
    total = re.search(r"^\s*([\d,]+) \(.*\)\s+PROGRAM TOTALS", annotated, re.M)
    return int(total.group(1).replace(",", "")), out


def have_callgrind():
    return bool(shutil.which("valgrind") and shutil.which("callgrind_annotate"))


def callgrind_per_pair(r, pool):
    """Instructions per checkout+checkin pair, 1 thread, at the default
    stack depth, without and with the shim: exact, and the same on a busy
    machine, where the wall ratios are not. None without valgrind."""
    if not have_callgrind():
        return None
    result = []
    for shim in (False, True):
        total, out = callgrind_total(r, [f"{r.bin}/pwbench", pool, "1", "0.3",
                                         str(DEFAULT_STACK_DEPTH)], f"{pool}_pairs", shim)
        result.append(total / parse(out)["total_pairs"])
    return result


# The libpq functions a connect and finish of pwbench call, which poolwatch
# hooks: PQconnectdb, and inside it libpq's own PQconnectStart and
# PQconnectPoll, then PQfinish.
CONNECT_HOOKS = ["PQconnectdb", "PQconnectStart", "PQconnectPoll", "PQfinish"]


def callgrind_per_connect(r):
    """Client instructions per connect: the whole client without and with
    the shim, and the instructions run in poolwatch's hooks alone. Two runs
    of different lengths, and the difference divided by the difference in
    connects: what a process pays once (poolwatch's and libpq's set-up, the
    first unwind of a call site) cancels out.

    The whole client's difference also holds libpq's own instructions moved
    by the shim's presence (its string routines take other paths at other
    addresses) and by the server's timing (how often libpq polls). The
    hooks' count leaves those out: each hook and the libpq function it
    forwards to share a name, so toggling the count at every entry and exit
    of those names counts the hook's own work and not libpq's. What moves
    it is the clock anchored again, which depends on the time a run takes
    under callgrind: 60 connects against 10 keep that share small (with 25
    against 5 the count ranged from 955 to 1,000 over four runs). Returns
    (without, with, hooks)."""
    if not have_callgrind():
        return None
    few, many = 10, 60
    def per_connect(collect, shim):
        a, _ = callgrind_total(r, [f"{r.bin}/pwbench", "connect", str(few)], collect, shim)
        b, _ = callgrind_total(r, [f"{r.bin}/pwbench", "connect", str(many)], collect, shim)
        return (b - a) / (many - few)
    return (per_connect("connect_loop", False), per_connect("connect_loop", True),
            per_connect(CONNECT_HOOKS, True))


def callgrind_sqlalchemy_pairs(r, pairs=2000, mode=()):
    """Instructions per SQLAlchemy QueuePool checkout+checkin
    (sqlalchemy_pairs.py, with MODE's options), the plain interpreter
    against the same with the
    preload and the Python package, as `poolwatch run` sets them up: a run
    of PAIRS pairs less a run of none, over PAIRS. PYTHONHASHSEED is fixed,
    so the two runs start alike and the difference is exact (with random
    seeds the start-up alone varies by a few million instructions)."""
    if not have_callgrind():
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sqlalchemy_pairs.py")
    package = os.path.join(os.path.dirname(r.lib), "poolwatch", "python")
    seed = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"  # both sides: Runner.env passes EXTRA to the shim's only
    try:
        result = []
        for shim in (False, True):
            with tempfile.TemporaryDirectory(prefix="pwbench-") as out_dir:
                extra = {"PYTHONPATH": package, "POOLWATCH_QUIET": "1",
                         "POOLWATCH_OUTPUT_DIR": out_dir}
                totals = [callgrind_total(r, ["/usr/bin/python3", script, *mode, "--pairs",
                                              str(n)], None, shim, extra)[0] for n in (0, pairs)]
            result.append((totals[1] - totals[0]) / pairs)
        return result
    finally:
        if seed is None:
            del os.environ["PYTHONHASHSEED"]
        else:
            os.environ["PYTHONHASHSEED"] = seed


def callgrind_capture(r, argv, extra, frames=20):
    """Instructions per stack capture in ARGV's language (python_capture.py
    and its Ruby and Perl twins with SECONDS 0: 2,000 annotated pairs FRAMES
    frames deep), counted inside pw__stack_capture_from (where every
    capture goes while an interpreter's frames are read): the first capture
    of the call site unwinds, the others come from the thread's cache of
    stacks with source frames. None without valgrind."""
    if not have_callgrind():
        return None
    total, out = callgrind_total(r, argv + ["0", str(frames)], "pw__stack_capture_from", True,
                                 {"POOLWATCH_QUIET": "1", **extra})
    return total / parse(out)["pairs"]


def callgrind_start(r, preload=None):
    """Instructions of a whole run of /bin/true, without and with the shim
    (or PRELOAD instead): the loader mapping and relocating the library,
    and its constructor. The kernel's side (mapping the file) is not
    counted."""
    if not have_callgrind():
        return None
    result = []
    for shim in (False, True):
        # With SHIM, EXTRA's LD_PRELOAD (if any) takes the shim's place.
        total, _ = callgrind_total(r, ["/bin/true"], None, shim,
                                   {"LD_PRELOAD": preload} if preload else None)
        result.append(total)
    return result


def live_view(r):
    """The live view's cost in the watched process: the CPU time of a
    steady service (pwbench live) with POOLWATCH_LIVE=1 and without, both
    under the shim, from 3.5 s in (after the first ticks) to the end, and
    its RSS over that window. At a 1 s interval the difference is within
    the noise of the service itself, so the cost per tick is also measured
    at a 50 ms interval, where it adds up twenty times faster."""
    seconds = 8 if r.quick else 20
    def run(live, interval):
        out, _, _ = r.run([f"{r.bin}/pwbench", "live", str(seconds)], True,
                          {"POOLWATCH_LIVE": "1" if live else "0", "POOLWATCH_INTERVAL": interval,
                           "POOLWATCH_QUIET": "1"})
        return parse(out)
    rounds = 2 if r.quick else 3
    results = {}
    for interval, tick in (("1s", 1.0), ("50ms", 0.05)):
        off, on = [], []
        for i in range(rounds):
            for live in (False, True) if i % 2 == 0 else (True, False):
                (on if live else off).append(run(live, interval))
        share = statistics.median(v["steady_cpu_s"] / v["steady_s"] for v in on)
        base = statistics.median(v["steady_cpu_s"] / v["steady_s"] for v in off)
        results[interval] = {
            "core_share": share - base, "base": base, "with": share,
            "per_tick_ms": (share - base) * tick * 1e3,
            "rss_growth": statistics.median(v["rss_last"] - v["rss_first"] for v in on),
            "rss_growth_off": statistics.median(v["rss_last"] - v["rss_first"] for v in off),
            "rss_session": statistics.median(v["rss_first"] for v in on)
            - statistics.median(v["rss_first"] for v in off),
            "window": statistics.median(v["steady_s"] for v in on),
        }
    return results


def mapped_objects(r, shim):
    """Shared objects mapped into /bin/cat reading its own maps."""
    out, _, _ = r.run(["/bin/cat", "/proc/self/maps"], shim)
    return sorted({os.path.basename(line.split()[-1]) for line in out.splitlines()
                   if ".so" in line.split()[-1]})


def page_faults(r):
    """Page faults of one /bin/true without a preload, with an empty
    preloaded library and with the shim: each is a trip into the kernel,
    and unlike wall time the count is exact."""
    empty = os.path.join(r.bin, "libpwbench_empty.so")
    result = []
    for preload in (None, empty, r.lib):
        env = r.env(False)
        if preload:
            env["LD_PRELOAD"] = preload
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        subprocess.run(["/bin/true"], env=env, check=True)
        result.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before)
    return result
