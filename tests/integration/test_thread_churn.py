"""16 threads of churn with every export on: 8 threads each do 5,000
checkout+checkin pairs on an annotated pool and 8 each do 50 connect+finish
pairs, with a 1 ms threshold (the monitor scans while checkouts are made),
the event log, Prometheus and the live view every 20 ms. Every count is
exact in the report and in the event log, and no hold is ever reported
with an impossible age: the scan once read a checkout newer than its own
clock reading as 18446744073.71 s (a race this run may or may not hit;
unit_monitor makes that checkout on purpose). Prometheus and live files
go at exit."""
import os
import re

from pwtest import check, eq, get, main, pool, program, run, section, tmpdir

THREADS, PAIRS = 16, 5000


def test():
    section("16 threads, exports on")
    d = tmpdir()
    log, prom = os.path.join(d, "events.log"), os.path.join(d, "pool.prom")
    r = run([program("attacks"), "churn", THREADS, PAIRS],
            env={"POOLWATCH_LEAK_THRESHOLD": "1ms", "POOLWATCH_EVENT_LOG": log,
                 "POOLWATCH_PROMETHEUS": prom, "POOLWATCH_LIVE": "1", "POOLWATCH_INTERVAL": "20ms"},
            timeout=170)
    checkouts, connects = THREADS // 2 * PAIRS, THREADS // 2 * (PAIRS // 100)
    eq(r.stdout, "checkouts %d connects %d\n" % (checkouts, connects), "the program's own counts")
    eq(r.status, 0, "exit status")
    report = r.only_report()
    churn, libpq = pool(report, "churn"), pool(report, "libpq")
    eq((get(churn, "counters.checkouts"), get(churn, "counters.checkins")), (checkouts, checkouts),
       "report: every checkout and checkin")
    eq((get(libpq, "counters.connects"), get(libpq, "counters.closes")), (connects, connects),
       "report: every connect and close")
    eq(get(report, "summary.leaked_connections") + get(report, "summary.leaked_checkouts"), 0, "no leak")

    with open(log) as f:
        kinds = [l.split(" ")[3] for l in f.read().splitlines()]
    eq((kinds.count("checkout"), kinds.count("checkin"), kinds.count("connect"), kinds.count("close")),
       (checkouts, checkouts, connects, connects), "event log: one line per event")

    ages = [float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1}[m.group(2)]
            for m in re.finditer(r"held for ([0-9.]+) (us|ms|s)\b", r.stderr)]
    print("%d held-too-long alerts, the longest %.3f s" % (len(ages), max(ages or [0])))
    check("18446744073" not in r.stderr, "no underflowed age on stderr")
    check(all(a < 120 for a in ages), "every reported age is shorter than the run", max(ages or [0]))
    check(not os.path.exists(prom), "the Prometheus file is removed at exit")
    check(not os.path.exists("/dev/shm/poolwatch-%d/poolwatch-%s.live.json" % (os.geteuid(), report.get("pid"))),
          "the live file is removed at exit")


main(test)
