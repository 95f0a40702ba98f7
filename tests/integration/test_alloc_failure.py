"""Allocation-failure injection: an allocator wrapper preloaded in front of
the shim (tests/programs/failmalloc.c) fails the Nth allocation made by
poolwatch's own code, once, for every N until a run makes fewer than N.
The host never sees those failures, so it must end exactly as without
poolwatch every time: same status, same stdout, no crash. Hosts: a libzdb
program (one failed pool record once left the hooks using a NULL pool),
the annotation API and plain libpq."""
import os

from pwtest import BIN, PRELOAD_FIRST, check, eq, main, program, run, section, tmpdir

FAILMALLOC = os.path.join(BIN, "libpwtest_failmalloc.so")
HOSTS = [
    ("libzdb", [program("zdb_pool"), "exhaust"]),
    ("annotation API", [program("attacks"), "annotated", "1000"]),
    ("libpq", [program("leak_basic")]),
]
LIMIT = 1000


def sweep(label, argv):
    section(label)
    plain = run(argv, preload=False, outdir=False)
    d = tmpdir()
    mark = os.path.join(d, "failed")
    tried = survived = 0
    lost = []
    for nth in range(1, LIMIT + 1):
        if os.path.exists(mark):
            os.unlink(mark)
        r = run(argv, env={"LD_PRELOAD": FAILMALLOC + ":" + os.environ["POOLWATCH_LIB"],
                           "FAILMALLOC_NTH": str(nth), "FAILMALLOC_MARK": mark}, outdir=False, timeout=60)
        if not os.path.exists(mark):
            break  # fewer than NTH allocations: every point was tried
        tried += 1
        if r.status == plain.status and r.stdout == plain.stdout:
            survived += 1
        else:
            lost.append((nth, r.status))
    print("%s: tried %d, survived %d, lost %d %s" % (label, tried, survived, len(lost), lost[:5]))
    check(tried > 20, "%s: poolwatch's own allocations were failed one by one (%d)" % (label, tried))
    eq(lost, [], "%s: every injection ended as without poolwatch" % label)


def test():
    if PRELOAD_FIRST:
        # A sanitizer runtime brings its own allocator, which the wrapper
        # would bypass.
        print("skipped under a sanitizer runtime")
        return
    for label, argv in HOSTS:
        sweep(label, argv)


main(test)
