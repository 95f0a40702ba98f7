"""SQLAlchemy's pools, through its pool events.

Each pool is a poolwatch pool of kind "sqlalchemy", named after its
engine's URL with the password hidden; pool.size is QueuePool's size(),
pool.overflow what QueuePool.overflow() returns. An engine left open at
exit is fine: nobody disposes engines.

- connect and close events: the pool's connections.
- Pool.connect(): the checkout, told to the shim in one call with the time
  it waited, rather than from the checkout event (each call through
  ctypes costs about 2,500 instructions; see tests/bench). QueuePool's
  TimeoutError ("QueuePool limit of size N overflow M reached") is a
  failed checkout: pool_exhausted, with the stacks holding the pool.
- checkin event: the checkin.
- reset event: whether the connection goes back with a transaction open
  that the pool rolls back, for DBAPI connections the program holds
  itself (Engine.raw_connection(), or a pool used without an engine). A
  1.4 Connection commits its writes itself, and ending its reads with the
  pool's rollback is how SQLAlchemy works, so those are not findings.
"""
import sys
from ctypes import c_double
from time import perf_counter

from poolwatch import api
from poolwatch.connections import handle_of, in_transaction


def _pool_state(pool):
    """The poolwatch pool of a SQLAlchemy pool, declared on first use."""
    handle = pool.__dict__.get("_poolwatch")
    if handle is None:
        name = pool.__dict__.get("_poolwatch_name") or type(pool).__name__
        size = max_size = -1
        if hasattr(pool, "_max_overflow") and hasattr(pool, "size"):  # QueuePool
            size = pool.size()
            max_size = size + pool._max_overflow if pool._max_overflow >= 0 else -1
        handle = api.declare("sqlalchemy", name, size, max_size)
        pool._poolwatch = handle
        _report_overflow(pool)
    return handle


def _pool_of(record):
    # _ConnectionRecord keeps its pool in a private attribute (1.4:
    # self.__pool); the events do not pass the pool itself.
    return getattr(record, "_ConnectionRecord__pool", None) or getattr(record, "_pool", None)


def _report_overflow(pool):
    """QueuePool's overflow() as it is now; it changes only where a
    connection is created or closed, or the pool disposed."""
    handle = pool.__dict__.get("_poolwatch")
    if handle is not None and hasattr(pool, "_max_overflow"):
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
    from sqlalchemy.pool.base import reset_rollback

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
            for key in ("_poolwatch_name", "_poolwatch"):
                if key in old.__dict__:
                    self.pool.__dict__[key] = old.__dict__[key]

    Engine.dispose = dispose

    engine_raw_connection = Engine.raw_connection
    # A Connection takes its DBAPI connection with raw_connection() too.
    connection_init = Connection.__init__.__code__

    def raw_connection(self, _connection=None):
        fairy = engine_raw_connection(self, _connection)
        if _connection is None and sys._getframe(1).f_code is not connection_init:
            # The program's own DBAPI connection.
            record = getattr(fairy, "_connection_record", None)
            if record is not None:
                record._poolwatch_dbapi_use = True
                watch_resets()
        return fairy

    Engine.raw_connection = raw_connection

    pool_connect = Pool.connect
    checkout_waited, checkin = api.checkout_waited, api.checkin

    def connect(self):
        # On every checkout: kept to a clock read, a few attribute reads
        # and one call into the shim.
        handle = self.__dict__.get("_poolwatch") or _pool_state(self)
        start = perf_counter()
        try:
            fairy = pool_connect(self)
        except exc.TimeoutError:
            checkout_waited(handle, None, c_double(perf_counter() - start))
            raise
        state = fairy._connection_record.__dict__
        conn = state.get("_poolwatch_handle")
        if conn is not None:
            state["_poolwatch_out"] = True
            checkout_waited(handle, conn, c_double(perf_counter() - start))
        return fairy

    Pool.connect = connect

    for name in ("_inc_overflow", "_dec_overflow", "dispose"):
        setattr(QueuePool, name, _reporting_overflow(getattr(QueuePool, name)))

    # Each record (one pooled connection) keeps its poolwatch pool and
    # connection handle, so the hot events read two attributes.
    def on_connect(dbapi_connection, record):
        pool = _pool_of(record)
        if pool is None:
            return
        handle = _pool_state(pool)
        record._poolwatch_pool = handle
        record._poolwatch_handle = handle_of(dbapi_connection)
        # A pool used without an engine hands out DBAPI connections only.
        record._poolwatch_standalone = "_poolwatch_name" not in pool.__dict__
        if record._poolwatch_standalone:
            watch_resets()
        api.conn_opened(handle, record._poolwatch_handle, 1)

    def on_reset(connection, record):
        state = record.__dict__
        if state.pop("_poolwatch_dbapi_use", False) or state.get("_poolwatch_standalone"):
            pool = _pool_of(record)
            if pool is not None and pool._reset_on_return is reset_rollback:
                # 1.4 passes the _ConnectionFairy here, not the DBAPI connection.
                dbapi_connection = getattr(connection, "dbapi_connection", connection)
                state["_poolwatch_in_transaction"] = in_transaction(dbapi_connection)

    def on_checkin(dbapi_connection, record):
        state = record.__dict__
        if not state.get("_poolwatch_out"):
            return
        state["_poolwatch_out"] = False
        handle = state["_poolwatch_pool"]
        checkin(handle, state["_poolwatch_handle"],
                1 if state.pop("_poolwatch_in_transaction", False) else 0)
        closed = state.pop("_poolwatch_closed", None)
        if closed is not None:
            api.conn_closed(handle, closed)

    def on_close(dbapi_connection, record):
        state = record.__dict__
        conn = state.get("_poolwatch_handle")
        if conn is None:
            return
        if state.get("_poolwatch_out"):
            # Invalidated while the program holds it (a lost connection):
            # SQLAlchemy's normal recovery, not closed_while_checked_out.
            # The program still returns it; the close is told then.
            state["_poolwatch_closed"] = conn
            return
        del state["_poolwatch_handle"]
        api.conn_closed(state["_poolwatch_pool"], conn)

    event.listen(Pool, "connect", on_connect)

    # The reset listener matters only for DBAPI connections the program
    # holds itself; a program that uses only Connections never pays for it.
    resets_watched = []

    def watch_resets():
        if not resets_watched:
            resets_watched.append(True)
            event.listen(Pool, "reset", on_reset)
    event.listen(Pool, "checkin", on_checkin)
    event.listen(Pool, "close", on_close)
