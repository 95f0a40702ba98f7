"""Start-up: the census at exit and the pools' instrumentation, installed
when their libraries are imported."""
import atexit

from poolwatch import api, census, importhook


def start():
    if not api.available:
        return
    # Registered first, so it runs last: after the program's own atexit
    # handlers, and after threading's shutdown joined its non-daemon
    # threads (the interpreter does that before any atexit handler).
    atexit.register(census.take)
    importhook.install({
        "sqlalchemy": "poolwatch.sqlalchemy_pool",
        "psycopg2.pool": "poolwatch.psycopg2_pool",
        "psycopg_pool": "poolwatch.psycopg_pool",
    })
