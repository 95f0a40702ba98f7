"""A libpqxx (C++) leak reads as C++: libpqxx's frames and the program's
own are demangled (pqxx::connection_base::init(), shop::open_orders_db())
and marked "c++", C frames "c"; a `leak:pqxx::*` rule suppresses it."""
import os
import re

from pwtest import check, eq, get, main, marker_line, program, run, section, tmpdir


def test():
    section("demangled frames")
    r = run([program("pqxx_leak")])
    eq(r.status, 0, "exit status")
    eq(r.stdout, "pqxx_leak done\n", "stdout")
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 1, "leaked connections")
    stack = get(report, ["leaks", 0, "stack"], [])
    names = [f.get("function") or "" for f in stack]
    eq([n for n in names if n.startswith("_Z")], [], "no frame keeps a mangled name")
    pqxx = [f for f in stack if (f.get("function") or "").startswith("pqxx::")]
    check(pqxx and all(f.get("language") == "c++" for f in pqxx), "libpqxx's frames are C++", names)
    check(any(re.fullmatch(r"pqxx::connection_base::init\(\)", n) for n in names),
          "pqxx::connection_base::init() is a frame", names)
    own = [f for f in stack if f.get("function") == "shop::open_orders_db()"]
    check(own, "the program's own C++ function is a frame, demangled", names)
    if own:
        eq(own[0].get("language"), "c++", "its language")
        eq(own[0].get("line"), marker_line("pqxx_leak.cpp", "pqxx"), "its line (pwtest:pqxx)")
        check(re.fullmatch(r"0x[0-9a-f]+", str(own[0].get("offset"))), "a native C++ frame keeps its offset",
              own[0].get("offset"))
    libc = [f for f in stack if "libc.so" in str(f.get("module"))]
    check(libc and all(f.get("language") == "c" for f in libc), "libc's frames are C",
          [(f.get("function"), f.get("language")) for f in libc])
    text = r.read("poolwatch-%d.txt" % next(iter(r.reports)))
    check("pqxx::connection_base::init()" in text, "the text report shows demangled names", text[:800])

    section("leak:pqxx::* suppresses it")
    rules = os.path.join(tmpdir(), "poolwatch.supp")
    with open(rules, "w") as f:
        f.write("leak:pqxx::*\n")
    r = run([program("pqxx_leak")], env={"POOLWATCH_SUPPRESSIONS": rules, "POOLWATCH_EXITCODE": "23"})
    eq(r.status, 0, "a suppressed leak does not fail the run")
    report = r.only_report()
    eq(get(report, ["leaks", 0, "suppressed"]), True, "the leak group is suppressed")
    eq(get(report, "summary.suppressed"), 1, "summary.suppressed")


main(test)
