"""A long-running program holds a libzdb checkout past POOLWATCH_LEAK_THRESHOLD:
while it still runs, the event log says held_too_long and the Prometheus
file shows the checked-out connection; after it returns the connection,
one more line says so, and the exit report has the finding and no leak."""
import os
import re
import time

from pwtest import Spawned, check, eq, findings, functions, get, main, program, tmpdir

METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')


def parse_prometheus(text):
    """Checks the text exposition format line by line; returns samples by
    name+labels, and the lines that do not parse."""
    samples, bad, typed = {}, [], set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) != 4 or parts[3] not in ("gauge", "counter", "histogram"):
                bad.append(line)
            typed.add(parts[2])
            continue
        m = METRIC.match(line)
        if not m:
            bad.append(line)
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        if m.group(1) not in typed and base not in typed:
            bad.append("no # TYPE before: " + line)
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(5))
    return samples, bad


def wait_for(predicate, seconds=5.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def test():
    d = tmpdir()
    log, prom = os.path.join(d, "events.log"), os.path.join(d, "pool.prom")
    p = Spawned([program("zdb_pool"), "hold"],
                env={"POOLWATCH_LEAK_THRESHOLD": "200ms", "POOLWATCH_EVENT_LOG": log,
                     "POOLWATCH_PROMETHEUS": prom, "POOLWATCH_INTERVAL": "100ms"})
    eq(p.readline(), "held\n", "the program holds its checkout")
    line = wait_for(lambda: next((l for l in read(log).splitlines() if " held_too_long " in l), None))
    check(line, "event log has a held_too_long line while the program runs", read(log))
    check(line and "pool=libzdb" in line and "thread=" in line, "the line names pool and thread", line)

    labels = '{pool="libzdb",pid="%d"}' % p.proc.pid
    text = wait_for(lambda: read(prom) if 'poolwatch_leaked_checkouts%s 1' % labels in read(prom) else None)
    samples, bad = parse_prometheus(text or read(prom))
    eq(bad, [], "every Prometheus line parses")
    eq(samples.get('poolwatch_pool_checked_out' + labels), 1.0, "checked-out gauge during the hold")
    eq(samples.get('poolwatch_checkouts_total' + labels), 1.0, "checkouts counter")
    eq(samples.get('poolwatch_leaked_checkouts' + labels), 1.0, "held past the threshold right now")
    check(any(k.startswith("poolwatch_hold_seconds_bucket") for k in samples), "hold time histogram buckets")
    # node_exporter runs as its own user; the file holds no secrets.
    eq(oct(os.stat(prom).st_mode & 0o777), oct(0o644), "Prometheus file is 0644")

    r = p.finish(b"\n")
    eq(r.status, 0, "exit status")
    eq(r.stdout, "returned\n", "stdout after the hold")
    events = read(log)
    order = [l.split()[3] for l in events.splitlines()]
    check("held_too_long_returned" in order and order.index("held_too_long_returned") > order.index("held_too_long"),
          "a returned line follows the held_too_long line", order)
    check(re.search(r"reported as held too long, was returned after [0-9.]+ (us|ms|s)", r.stderr),
          "stderr says the connection was returned, and after how long")
    report = r.only_report()
    held = findings(report, "held_too_long")
    eq(len(held), 1, "exit report has one held_too_long finding")
    if held:
        eq(functions(held[0].get("stack"))[:1], ["checkout_and_hold"], "its stack starts at the checkout")
    eq(get(report, "summary.leaked_checkouts"), 0, "no leaked checkout")
    eq(get(report, "summary.leaked_connections"), 0, "no leaked connection")


main(test)
