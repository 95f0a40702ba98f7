"""Imported by the interpreter at start-up when this directory is on
PYTHONPATH: leaks a psycopg2 connection while the interpreter is still
starting (as an instrumentation hook injected this way could)."""
import ctypes

import psycopg2


def opened_at_startup():
    conn = psycopg2.connect("application_name=startup")  # pwtest:startup
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(conn))  # never closed, even at shutdown


opened_at_startup()
