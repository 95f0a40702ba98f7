"""Python stacks with plain LD_PRELOAD: psycopg2 leaks show the Python
function, .py file and line in place of the interpreter's frames, merged
with the native frames; two leaking functions make two groups; threads, a
C thread with no Python state and an atexit handler during shutdown all
work, and so does sitecustomize at start-up; the event log and `poolwatch
top` name the Python function."""
import os
import re
import time

from pwtest import (PROGRAMS_SRC, PYTHON, Spawned, check, eq, functions, get, leak_groups, main,
                    marker_line, run, section)

SCRIPT = os.path.join(PROGRAMS_SRC, "python_frames.py")
POOLWATCH = os.environ.get("PWTEST_POOLWATCH", "")
C_THREAD_LIBRARY = os.path.join(os.environ.get("PWTEST_BIN", ""), "libpwtest_c_thread.so")


def python_frame(stack, function):
    for frame in stack or []:
        if frame.get("function") == function and frame.get("language") == "python":
            return frame
    return None


def check_python_frame(stack, function, marker):
    """FUNCTION's frame is a Python frame at the pwtest:MARKER line of the
    script, with no offset and the interpreter as its module."""
    frame = python_frame(stack, function)
    if not check(frame is not None, "the stack has a Python frame in %s" % function,
                 [(f.get("function"), f.get("language")) for f in stack or []]):
        return
    eq(frame.get("file"), SCRIPT, "%s's file" % function)
    eq(frame.get("line"), marker_line("python_frames.py", marker), "%s's line (pwtest:%s)" % (function, marker))
    eq(frame.get("offset"), None, "%s's frame has no offset" % function)
    check(re.search(r"python3", str(frame.get("module"))), "%s's module is the interpreter" % function,
          frame.get("module"))


def check_languages(stack):
    check(all(f.get("language") in ("c", "c++", "python") for f in stack),
          "every frame names its language", [f.get("language") for f in stack])
    check(all(set(f) >= {"function", "file", "line", "module", "offset", "language"} for f in stack),
          "every frame keeps the keys function, file, line, module, offset", [sorted(f) for f in stack])


def scenario(name, *args, env=None):
    section(name)
    r = run([PYTHON, SCRIPT, name] + list(args), env=env)
    eq(r.status, 0, "exit status")
    eq(r.stdout, "python_frames %s done\n" % name, "stdout")
    return r, r.only_report()


def test():
    r, report = scenario("two", env={"POOLWATCH_EVENT_LOG": "stderr"})
    eq(get(report, "summary.leaked_connections"), 3, "leaked connections")
    a, b = leak_groups(report, "leak_a"), leak_groups(report, "leak_b")
    eq([g.get("count") for g in a], [1], "leak_a's group holds its one leak")
    eq(sum(g.get("count") for g in b), 2, "leak_b's groups hold its two leaks")
    check(not any(g in b for g in a), "leak_a and leak_b are different groups")
    stack = get(a, [0, "stack"], [])
    check_python_frame(stack, "leak_a", "leak_a")
    check_python_frame(get(b, [0, "stack"], []), "leak_b", "leak_b")
    check_languages(stack)
    names = functions(stack)
    check("_PyEval_EvalFrameDefault" not in names, "no interpreter frames remain", names)
    connect = python_frame(stack, "connect")
    check(connect and str(connect.get("file")).endswith("psycopg2/__init__.py")
          and str(connect.get("module")).endswith("dist-packages/psycopg2"),
          "psycopg2's own Python frame names its package as module", connect)
    native = [f for f in stack if f.get("language") == "c"]
    check(native and "_psycopg" in str(native[0].get("module")) and stack.index(native[0]) == 0,
          "the driver's native frames come first, innermost first", [f.get("module") for f in stack])
    order = [f.get("function") for f in stack if f.get("language") == "python"]
    eq(order[:4], ["connect", "leak_a", "main", "<module>"], "Python frames innermost first")
    text = r.read("poolwatch-%d.txt" % next(iter(r.reports)))
    check(re.search(r"#\d+ leak_a %s:%d \(python\)" % (re.escape(SCRIPT), marker_line("python_frames.py", "leak_a")),
                    text), "the text report shows '#N leak_a FILE:LINE (python)'", text[:600])
    check(re.search(r"connect .* at=leak_a\b|at=connect", r.stderr),
          "the event log names a Python function", r.stderr[-600:])

    r, report = scenario("threads")
    groups = leak_groups(report, "leak_in_thread")
    eq(sum(g.get("count") for g in groups), 4, "four threads' leaks")
    eq(len(groups), 1, "one group: the same Python call site in every thread")
    stack = get(groups, [0, "stack"], [])
    check_python_frame(stack, "leak_in_thread", "leak_in_thread")
    check(python_frame(stack, "Worker.run") is not None, "the thread's run method is a frame (qualified name)",
          functions(stack))
    check(python_frame(stack, "Thread._bootstrap_inner") is not None, "threading's frames are shown too",
          functions(stack))

    check(os.path.exists(C_THREAD_LIBRARY), "the C thread library is built", C_THREAD_LIBRARY)
    r, report = scenario("c_thread", C_THREAD_LIBRARY)
    eq(get(report, "summary.leaked_connections"), 2, "leaked connections")
    c_groups = leak_groups(report, "connect_from_c_thread")
    eq(len(c_groups), 1, "the C thread's leak is a group of its own")
    stack = get(c_groups, [0, "stack"], [])
    eq([f.get("language") for f in stack if f.get("language") != "c"], [],
       "a thread with no Python state has native frames only")
    eq(get(stack, [0, "line"]), marker_line("c_thread_connect.c", "c_thread"), "the C frame's line")
    check_python_frame(get(leak_groups(report, "leak_a"), [0, "stack"], []), "leak_a", "leak_a")

    r, report = scenario("atexit")
    eq(get(report, "summary.leaked_connections"), 1, "leaked connections")
    check_python_frame(get(leak_groups(report, "leak_at_exit"), [0, "stack"], []), "leak_at_exit",
                       "leak_at_exit")

    section("start-up: sitecustomize")
    site = os.path.join(PROGRAMS_SRC, "python_site")
    r = run([PYTHON, "-c", "print('started')"], env={"PYTHONPATH": site})
    eq(r.status, 0, "exit status")
    eq(r.stdout, "started\n", "stdout")
    stack = get(leak_groups(r.only_report(), "opened_at_startup"), [0, "stack"], [])
    frame = python_frame(stack, "opened_at_startup")
    check(frame and frame.get("file") == os.path.join(site, "sitecustomize.py")
          and frame.get("line") == marker_line("python_site/sitecustomize.py", "startup"),
          "a leak during start-up is at its sitecustomize.py line", frame)
    eq([f.get("function") for f in stack if "importlib" in str(f.get("file"))], [],
       "the import system's frames are left out, as in Python's tracebacks")
    eq([f.get("function") for f in stack if f.get("language") == "python"][-3:],
       ["execsitecustomize", "main", "<module>"], "site's frames lead to it")

    section("poolwatch top")
    p = Spawned([PYTHON, SCRIPT, "hold"], env={"POOLWATCH_LIVE": "1", "POOLWATCH_INTERVAL": "100ms"})
    eq(p.readline(), "held\n", "the program holds its connection")
    deadline = time.time() + 10
    top = run([POOLWATCH, "top", "--once", p.proc.pid], preload=False, outdir=False, timeout=30)
    while top.status != 0 and time.time() < deadline:
        time.sleep(0.1)
        top = run([POOLWATCH, "top", "--once", p.proc.pid], preload=False, outdir=False, timeout=30)
    eq(top.status, 0, "top --once exit status")
    check("connect < leak_a < main" in top.stdout,
          "top shows the Python function that holds the connection", top.stdout)
    done = p.finish(b"\n")
    eq(done.status, 0, "the held program exits cleanly")


main(test)
