"""poolwatch's start-up hook for Python programs.

`poolwatch run` puts this directory first on PYTHONPATH, so the interpreter
imports this module at start-up (the way opentelemetry-instrument and
ddtrace-run inject themselves). It tracks SQLAlchemy's, psycopg2.pool's and
psycopg_pool's pools and takes the census at exit, then runs the
sitecustomize this one hides (Debian ships one in /etc/python3.X).

Without libpoolwatch.so in the process it imports nothing and does
nothing.
"""
import os
import sys


def _start_poolwatch():
    # The preload is what makes the shim's symbols exist; a process without
    # it must not even pay for importing ctypes.
    if "poolwatch" not in os.environ.get("LD_PRELOAD", ""):
        return
    try:
        from poolwatch import startup
    except ImportError:
        return
    startup.start()


def _run_hidden_sitecustomize():
    """Runs the next sitecustomize on sys.path, as if this one were absent."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    # While it runs it is sitecustomize, as it would have been without us.
    ours = sys.modules.get("sitecustomize")
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if ours is not None:
            sys.modules["sitecustomize"] = ours


_start_poolwatch()
_run_hidden_sitecustomize()
