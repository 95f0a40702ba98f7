"""Python stack capture cost: checkouts and checkins of an annotated pool,
made from Python code DEPTH Python frames down, through ctypes. Each pair
captures one stack (at the checkout); run with POOLWATCH_STACK_DEPTH=0
(no capture) and 32, the difference per pair is what one capture of a
Python stack costs.

Usage: python_capture.py SECONDS DEPTH; prints ns_per_op=... (CPU time) pairs=...
SECONDS 0 runs only the 2,000 warm-up pairs (for instruction counts).
Needs libpoolwatch.so preloaded (it defines the pw_v1_* functions).
"""
import ctypes
import sys
import time

api = ctypes.CDLL(None)
declare = api.pw_v1_pool_declare
declare.restype = ctypes.c_void_p
declare.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
begin, end, checkin = api.pw_v1_checkout_begin, api.pw_v1_checkout_end, api.pw_v1_checkin
begin.argtypes = [ctypes.c_void_p]
end.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
checkin.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]

POOL = declare(b"bench-python", 1, 1)
CONN = ctypes.c_void_p(0x1000)


def pairs(count):
    for _ in range(count):
        begin(POOL)
        end(POOL, CONN)
        checkin(POOL, CONN, 0)


def nested(depth, count):
    """Runs PAIRS DEPTH Python frames down, like a request handler under
    a web framework."""
    return nested(depth - 1, count) if depth > 0 else timed(count)


def timed(count):
    # The thread's CPU time: on a shared machine, far less disturbed by
    # other processes than wall time, and the capture is pure CPU work.
    t0 = time.thread_time_ns()
    pairs(count)
    return time.thread_time_ns() - t0


def main():
    seconds, depth = float(sys.argv[1]), int(sys.argv[2])
    nested(depth, 2000)  # warm: stacks interned, caches filled
    if seconds == 0:
        print("pairs=2000")
        return
    count, total = 2000, 0
    while True:
        elapsed = nested(depth, count)
        total_pairs = count
        if elapsed >= seconds * 1e9 or count >= 1 << 24:
            break
        count *= 2
    print(f"ns_per_op={elapsed / total_pairs:.1f} pairs={total_pairs}")


if __name__ == "__main__":
    main()
