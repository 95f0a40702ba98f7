"""A wheel-layout libpq, as psycopg2-binary and psycopg-binary ship it: a
renamed copy of libpq (libpq-1a2b3c4d.so.5.15, soname patched) beside an
extension module linked against it, loaded with dlopen(RTLD_LOCAL) from C
and through Python's ctypes. Built by the test from the system libpq. The
program's output and status must be the same as without the shim, and its
leaks reported at the module's file:line."""
import glob
import os
import shutil
import subprocess

from pwtest import (PROGRAMS_SRC, PYTHON, check, check_stack_frame, eq, get, leak_groups,
                    leaked_from, main, pool, program, run, section, tmpdir)

VENDORED = "libpq-1a2b3c4d.so.5.15"


def build_wheel_layout():
    """site/_wheelmod.so linked against site/wheel.libs/libpq-1a2b3c4d.so.5.15."""
    site = tmpdir("pwtest-wheel-")
    libs = os.path.join(site, "wheel.libs")
    os.mkdir(libs)
    system = sorted(glob.glob("/usr/lib/*/libpq.so.5.*") + glob.glob("/usr/lib/libpq.so.5.*"))[0]
    copy = os.path.join(libs, VENDORED)
    shutil.copy(system, copy)
    subprocess.run(["patchelf", "--set-soname", VENDORED, copy], check=True)
    include = subprocess.run(["pg_config", "--includedir"], capture_output=True, text=True).stdout.strip()
    module = os.path.join(site, "_wheelmod.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O0", "-g", "-I", include or "/usr/include/postgresql",
                    os.path.join(PROGRAMS_SRC, "dlmod.c"), "-o", module,
                    os.path.join(libs, VENDORED), "-Wl,-rpath,$ORIGIN/wheel.libs"], check=True)
    return module, copy


def test():
    module, vendored = build_wheel_layout()
    needed = subprocess.run(["readelf", "-d", module], capture_output=True, text=True).stdout
    check(VENDORED in needed and "libpq.so.5]" not in needed,
          "the module needs the renamed copy, not the system libpq", needed)

    section("from C: dlopen(RTLD_NOW | RTLD_LOCAL)")
    plain = run([program("dlopen_local"), module], preload=False, outdir=False)
    eq(plain.status, 0, "exit status without the shim")
    r = run([program("dlopen_local"), module])
    eq(r.status, plain.status, "exit status is unchanged")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    check("cannot find" not in r.stderr and "fails as if" not in r.stderr, "no warning about the real function",
          r.stderr)
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 2, "summary.leaked_connections")
    groups = leak_groups(report, "dlmod_open")
    if check(groups, "the leak is grouped at the module's dlmod_open"):
        check_stack_frame(groups[0].get("stack"), "dlmod_open", "dlmod.c", "dlmod_open", "/_wheelmod.so")
    eq(get(pool(report), "counters.connects"), 3, "counters.connects")
    eq(get(pool(report), "counters.closes"), 1, "counters.closes")

    section("from Python: ctypes.CDLL of the module")
    script = ("import ctypes, sys\n"
              "m = ctypes.CDLL(sys.argv[1])\n"
              "print('clean', m.dlmod_clean(), 'leaked', m.dlmod_leak(2))\n")
    plain = run([PYTHON, "-c", script, module], preload=False, outdir=False)
    eq(plain.status, 0, "exit status without the shim")
    r = run([PYTHON, "-c", script, module])
    eq(r.status, plain.status, "exit status is unchanged")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    report = r.only_report()
    eq(leaked_from(report, "dlmod_open"), 2, "leaked through dlmod_open")

    section("from Python: ctypes.CDLL of the vendored libpq itself (functions found by dlsym)")
    script = ("import ctypes, sys\n"
              "pq = ctypes.CDLL(sys.argv[1])\n"
              "pq.PQconnectdb.restype = ctypes.c_void_p\n"
              "pq.PQstatus.argtypes = pq.PQfinish.argtypes = [ctypes.c_void_p]\n"
              "ok = [pq.PQstatus(pq.PQconnectdb(b'application_name=ctypes')) for _ in range(3)]\n"
              "done = pq.PQconnectdb(b'application_name=ctypes_done')\n"
              "pq.PQfinish(done)\n"
              "print('statuses', ok, 'ping', pq.PQping(b''))\n")
    plain = run([PYTHON, "-c", script, vendored], preload=False, outdir=False)
    r = run([PYTHON, "-c", script, vendored])
    eq(r.status, plain.status, "exit status is unchanged")
    eq(r.stdout, plain.stdout, "stdout is unchanged (connects succeed, the ping answers)")
    check("statuses [0, 0, 0]" in r.stdout, "all three connects succeeded", r.stdout)
    report = r.only_report()
    eq(get(report, "summary.leaked_connections"), 3, "the three unfinished connections are leaks")
    eq(get(pool(report), "counters.connects"), 4, "counters.connects (the ping is not one)")
    eq(get(pool(report), "counters.closes"), 1, "counters.closes")


main(test)
