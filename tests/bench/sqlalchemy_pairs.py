"""SQLAlchemy checkout+checkin pairs for the overhead benchmark: a QueuePool
of 4 connections; one thread checks a connection out and back in (the
pool's own connect() and close(), what Engine.connect() costs under a
Connection). bench.py runs it plainly and under `poolwatch run`.

    sqlalchemy_pairs.py SECONDS     pairs for SECONDS; prints ns_per_op and
                                    the CPU time per pair, cpu_ns_per_op
    sqlalchemy_pairs.py --pairs N   exactly N pairs (for instruction
                                    counts under callgrind: N and 0)

With --engine first, each pair is Engine.connect() and Connection.close()
instead, the way most programs check a connection out (a Connection
around the pool's checkout).
"""
import sys
import time

import sqlalchemy

engine = sqlalchemy.create_engine("postgresql+psycopg2://", pool_size=4, max_overflow=0)
pool = engine.pool
checkout = pool.connect
if sys.argv[1:2] == ["--engine"]:
    checkout = engine.connect
    del sys.argv[1]
checkout().close()  # the connect itself is not what is measured

if sys.argv[1:2] == ["--pairs"]:
    for _ in range(int(sys.argv[2])):
        checkout().close()
    sys.exit(0)

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
pairs = 0
cpu_start = time.process_time_ns()
start = time.perf_counter_ns()
deadline = start + int(seconds * 1e9)
while True:
    for _ in range(200):
        checkout().close()
    pairs += 200
    now = time.perf_counter_ns()
    if now >= deadline:
        break
cpu = time.process_time_ns() - cpu_start
print("ns_per_op=%.1f cpu_ns_per_op=%.1f total_pairs=%d" % ((now - start) / pairs, cpu / pairs, pairs))
