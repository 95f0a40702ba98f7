"""The census: what is still open when the program's own code has finished.

CPython finalizes after the atexit handlers: psycopg2 and psycopg close
every connection left open as their objects are freed, and SQLAlchemy
returns every forgotten checkout to its pool. The exit report would then
say "no leaks" for a script that closed nothing. The census marks what is
open at this point; the report lists it with "closed_by": "shutdown" when
a finalizer closes it afterwards.

What a pool's instrumentation sees after the census is the shutdown's
doing, not the program's: `after` registers what stops it then, so the
pools' metrics at exit are those the program left, whatever order the
interpreter frees its modules in.
"""
from poolwatch import api

_after = []


def after(stop):
    """Calls STOP once the census is taken."""
    _after.append(stop)


def take():
    try:
        api.census()
        for stop in _after:
            stop()
    except Exception:  # never let poolwatch change how the program exits
        pass
