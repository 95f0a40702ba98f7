"""The census: what is still open when the program's own code has finished.

CPython finalizes after the atexit handlers: psycopg2 and psycopg close
every connection left open as their objects are freed, and SQLAlchemy
returns every forgotten checkout to its pool. The exit report would then
say "no leaks" for a script that closed nothing. The census marks what is
open at this point; the report lists it with "closed_by": "shutdown" when
a finalizer closes it afterwards.
"""
from poolwatch import api


def take():
    try:
        api.census()
    except Exception:  # never let poolwatch change how the program exits
        pass
