"""exit() while another thread holds a connection and is blocked forever:
the report at exit must not hang or crash, and shows that connection."""
from pwtest import eq, get, leaked_from, main, program, run


def test():
    r = run([program("exit_with_thread")], timeout=60)
    eq(r.status, 0, "exit status (not a timeout or a signal)")
    eq(r.stdout, "exit_with_thread: exiting with the worker still holding its connection\n", "stdout")
    report = r.only_report()
    if not report:
        return
    eq(get(report, "summary.leaked_connections"), 1, "summary.leaked_connections")
    eq(leaked_from(report, "hold_connection_forever"), 1, "leaked from hold_connection_forever")


main(test)
