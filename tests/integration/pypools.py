"""Helpers for the tests of poolwatch's Python support: Python programs
written to a temporary file and run with the shim preloaded and the
Python package on PYTHONPATH, exactly as README's environment line says."""
import os
import textwrap

from pwtest import LIB, PYTHON, run, tmpdir

PACKAGE_DIR = os.path.join(os.path.dirname(LIB), "poolwatch", "python")


def script(source, name="app.py"):
    path = os.path.join(tmpdir("pwtest-py-"), name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(source))
    return path


def run_python(source, env=None, preload=True, python_path=True, args=()):
    e = {"PYTHONPATH": PACKAGE_DIR} if python_path else {}
    e.update(env or {})
    return run([PYTHON, script(source)] + list(args), env=e, preload=preload)


def items(report, kind, pool=None):
    """Every leaked item of KIND ("connection", "checkout") in POOL."""
    found = []
    for group in report.get("leaks", []):
        if group.get("kind") == kind and (pool is None or group.get("pool") == pool):
            found.extend(group.get("items", []))
    return found


def pool_of_kind(report, kind):
    pools = [p for p in report.get("pools", []) if p.get("kind") == kind]
    return pools[0] if len(pools) == 1 else {}
