"""SQLAlchemy's pools, through its pool events and two methods in C.

Each pool is a poolwatch pool of kind "sqlalchemy", named after its
engine's URL with the password hidden; pool.size is QueuePool's size(),
pool.overflow what QueuePool.overflow() returns. An engine left open at
exit is fine: nobody disposes engines.

- connect and close events: the pool's connections.
- Pool.connect() and _ConnectionRecord.checkin(): the checkout, told to
  the shim with the time it waited, and the checkin, where SQLAlchemy
  fires its checkin event. Both are methods written in C (the
  poolwatch._sqlalchemy module) that call SQLAlchemy's own: a wrapper
  written in Python and an event listener cost a pair about 10,000
  instructions more (see tests/bench). QueuePool's TimeoutError ("QueuePool
  limit of size N overflow M reached") is a failed checkout:
  pool_exhausted, with the stacks holding the pool.
- reset event: whether the connection goes back with a transaction open
  that the pool rolls back, for DBAPI connections the program holds
  itself (Engine.raw_connection(), or a pool used without an engine). A
  1.4 Connection commits its writes itself, and ending its reads with the
  pool's rollback is how SQLAlchemy works, so those are not findings.

A pool keeps its handle in the shim in pool._poolwatch (an int), and each
connection record (one pooled connection) a _sqlalchemy.Record in
record._poolwatch: its pool's and connection's handles, whether the
program holds it, and what the reset and close listeners saw, which the C
methods read as a struct. Both attributes default to None on the class,
and are read as attributes, never through __dict__: asking CPython 3.11
for an object's __dict__ turns its attributes into a dictionary for good,
and every attribute read of SQLAlchemy's own on that object is slower
after it.
"""
import sys

from poolwatch import _sqlalchemy, api, census
from poolwatch.connections import address_of, in_transaction

api.hide_own_code()  # _sqlalchemy's code, loaded just now


# What this module adds to SQLAlchemy's pools: the poolwatch pool's handle
# (an int; 0 when it could not be declared) and the engine's URL with the
# password hidden.
_POOL_ATTRIBUTES = ("_poolwatch", "_poolwatch_name")


def _pool_state(pool):
    """The poolwatch pool of a SQLAlchemy pool, declared on first use."""
    handle = pool._poolwatch
    if handle is None:
        name = pool._poolwatch_name or type(pool).__name__
        size = max_size = -1
        if hasattr(pool, "_max_overflow") and hasattr(pool, "size"):  # QueuePool
            size = pool.size()
            max_size = size + pool._max_overflow if pool._max_overflow >= 0 else -1
        declared = api.declare("sqlalchemy", name, size, max_size)
        handle = pool._poolwatch = declared.value if declared else 0
        _report_overflow(pool)
    return handle


def _pool_of(record):
    # _ConnectionRecord keeps its pool in a private attribute (1.4:
    # self.__pool); the events do not pass the pool itself.
    return getattr(record, "_ConnectionRecord__pool", None) or getattr(record, "_pool", None)


_stopped = False  # the census is taken


def _stop():
    global _stopped
    _stopped = True
    _sqlalchemy.stop()


def _report_overflow(pool):
    """QueuePool's overflow() as it is now; it changes only where a
    connection is created or closed, or the pool disposed."""
    handle = pool._poolwatch
    if handle is not None and not _stopped and hasattr(pool, "_max_overflow"):
        api.pool_overflow(handle, pool.overflow())


def _reporting_overflow(method):
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            _report_overflow(self)
    return wrapper


def instrument(sqlalchemy):
    from sqlalchemy import event, exc
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import Pool, QueuePool
    from sqlalchemy.pool.base import _ConnectionRecord, reset_rollback

    for name in _POOL_ATTRIBUTES:
        setattr(Pool, name, None)
    _ConnectionRecord._poolwatch = None

    engine_init = Engine.__init__

    def __init__(self, pool, dialect, url, *args, **kwargs):
        engine_init(self, pool, dialect, url, *args, **kwargs)
        pool._poolwatch_name = url.render_as_string(hide_password=True)

    Engine.__init__ = __init__

    engine_dispose = Engine.dispose

    def dispose(self, *args, **kwargs):
        # dispose() replaces the pool with pool.recreate(): the new pool is
        # the same engine's, so the same poolwatch pool.
        old = self.pool
        engine_dispose(self, *args, **kwargs)
        if self.pool is not old:
            for key in _POOL_ATTRIBUTES:
                setattr(self.pool, key, getattr(old, key))

    Engine.dispose = dispose

    engine_raw_connection = Engine.raw_connection
    # A Connection takes its DBAPI connection with raw_connection() too.
    connection_init = Connection.__init__.__code__

    def raw_connection(self, _connection=None):
        fairy = engine_raw_connection(self, _connection)
        if _connection is None and sys._getframe(1).f_code is not connection_init:
            # The program's own DBAPI connection.
            state = getattr(getattr(fairy, "_connection_record", None), "_poolwatch", None)
            if state is not None:
                state.dbapi_use = True
                watch_resets()
        return fairy

    Engine.raw_connection = raw_connection

    _sqlalchemy.install(Pool, _ConnectionRecord, _pool_state, exc.TimeoutError)
    census.after(_stop)

    for name in ("_inc_overflow", "_dec_overflow", "dispose"):
        setattr(QueuePool, name, _reporting_overflow(getattr(QueuePool, name)))

    def on_connect(dbapi_connection, record):
        pool = _pool_of(record)
        if pool is None:
            return
        # A record connects again after an invalidation, even while the
        # program holds it: what it keeps for the checkin stays.
        state = record._poolwatch
        if state is None:
            state = record._poolwatch = _sqlalchemy.Record()
        state.pool = _pool_state(pool)
        state.conn = address_of(dbapi_connection)
        # A pool used without an engine hands out DBAPI connections only.
        state.standalone = pool._poolwatch_name is None
        if state.standalone:
            watch_resets()
        api.conn_opened(state.pool, state.conn, 1)

    def on_reset(connection, record):
        state = record._poolwatch
        if state is None:
            return
        dbapi_use, state.dbapi_use = state.dbapi_use, False
        if dbapi_use or state.standalone:
            pool = _pool_of(record)
            if pool is not None and pool._reset_on_return is reset_rollback:
                # 1.4 passes the _ConnectionFairy here, not the DBAPI connection.
                dbapi_connection = getattr(connection, "dbapi_connection", connection)
                state.in_transaction = in_transaction(dbapi_connection)

    def on_close(dbapi_connection, record):
        state = record._poolwatch
        if state is None or not state.conn:
            return
        if state.out:
            # Invalidated while the program holds it (a lost connection):
            # SQLAlchemy's normal recovery, not closed_while_checked_out.
            # The program still returns it; the close is told then.
            state.closed = state.conn
            return
        conn, state.conn = state.conn, 0
        api.conn_closed(state.pool, conn)

    event.listen(Pool, "connect", on_connect)

    # The reset listener matters only for DBAPI connections the program
    # holds itself; a program that uses only Connections never pays for it.
    resets_watched = []

    def watch_resets():
        if not resets_watched:
            resets_watched.append(True)
            event.listen(Pool, "reset", on_reset)
    event.listen(Pool, "close", on_close)
