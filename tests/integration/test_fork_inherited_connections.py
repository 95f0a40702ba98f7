"""fork() with connections open: the child inherits the parent's two
connections but they are the parent's, not the child's leaks. Each process
writes its own report: parent 1 leak (open_parent_conn), child 1 leak
(open_child_conn)."""
import re

from pwtest import check, eq, get, leaked_from, main, pool, program, run, section


def test():
    r = run([program("fork_child")])
    eq(r.status, 0, "exit status")
    m = re.fullmatch(r"parent (\d+) child (\d+) child_status (\d+)\n", r.stdout)
    if not check(m, "stdout names parent and child", repr(r.stdout)):
        return
    parent_pid, child_pid, child_status = (int(x) for x in m.groups())
    eq(child_status, 0, "child exit status")
    eq(sorted(r.reports), sorted([parent_pid, child_pid]), "reports written, by pid")
    eq(len([f for f in r.files if f.endswith(".json") and not f.endswith(".dashboard.json")]), 2,
       "distinct poolwatch-PID.json files")

    parent = r.reports.get(parent_pid, {})
    child = r.reports.get(child_pid, {})

    section("parent report")
    eq(get(parent, "summary.leaked_connections"), 1, "summary.leaked_connections")
    eq(leaked_from(parent, "open_parent_conn"), 1, "leaked from open_parent_conn")
    eq(leaked_from(parent, "open_child_conn"), 0, "leaked from open_child_conn")
    eq(get(pool(parent), "counters.connects"), 2, "counters.connects")
    eq(get(pool(parent), "counters.closes"), 1, "counters.closes")

    section("child report")
    eq(get(child, "pid"), child_pid, "pid")
    eq(get(child, "ppid"), parent_pid, "ppid is the parent")
    eq(get(child, "summary.leaked_connections"), 1, "summary.leaked_connections (inherited ones not counted)")
    eq(leaked_from(child, "open_child_conn"), 1, "leaked from open_child_conn")
    eq(leaked_from(child, "open_parent_conn"), 0, "inherited connections leaked from open_parent_conn")
    eq(get(pool(child), ["metrics", "pool.size"]), 1, "pool.size (only its own connection)")
    eq(get(pool(child), "counters.connects"), 1, "counters.connects")


main(test)
