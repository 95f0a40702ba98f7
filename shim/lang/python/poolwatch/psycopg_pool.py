"""psycopg 3's psycopg_pool.ConnectionPool.

Each pool is a poolwatch pool of kind "psycopg_pool", named as the pool
is (its `name`, "pool-1" by default). getconn (and so connection()) is a
checkout, PoolTimeout a failed one (pool_exhausted, with the holders'
stacks); putconn a checkin, which rolls back an open transaction
(checkin_in_transaction). The pool's connections are opened in its worker
threads and counted as they are made and closed; its configured size is
min_size and its maximum max_size.

This tracking comes from the pool's own calls only: it does not need the
shim to see psycopg 3's connects.
"""
from ctypes import c_double
from time import perf_counter

from poolwatch import api
from poolwatch.connections import handle_of, in_transaction


def _pool_state(pool):
    handle = pool._poolwatch
    if handle is None:
        handle = api.declare("psycopg_pool", pool.name, pool.min_size, pool.max_size)
        pool._poolwatch = handle
    return handle


def instrument(module):
    from psycopg import Connection

    Pool = module.ConnectionPool
    PoolTimeout = module.PoolTimeout
    original_connect = Pool._connect
    original_getconn = Pool.getconn
    original_putconn = Pool.putconn
    original_close = Pool.close
    connection_close = Connection.close
    # Read as attributes with a class default, never through __dict__ (see
    # psycopg2_pool): the pool's handle, and each connection's (handle of
    # its pool, its own).
    Pool._poolwatch = None
    Connection._poolwatch = None

    def _connect(self, *args, **kwargs):
        conn = original_connect(self, *args, **kwargs)
        handle = _pool_state(self)
        pointer = handle_of(conn)
        conn._poolwatch = (handle, pointer)
        api.conn_opened(handle, pointer, 1)
        return conn

    def getconn(self, *args, **kwargs):
        handle = _pool_state(self)
        start = perf_counter()
        try:
            conn = original_getconn(self, *args, **kwargs)
        except PoolTimeout:
            api.checkout_waited(handle, None, c_double(perf_counter() - start))
            raise
        owner = conn._poolwatch
        api.checkout_waited(handle, owner[1] if owner else handle_of(conn), c_double(perf_counter() - start))
        return conn

    def putconn(self, conn, *args, **kwargs):
        owner = conn._poolwatch
        if owner is not None and conn._pool is self:
            api.checkin(owner[0], owner[1], 1 if in_transaction(conn) else 0)
        return original_putconn(self, conn, *args, **kwargs)

    def close(self, *args, **kwargs):
        try:
            return original_close(self, *args, **kwargs)
        finally:
            if self.closed and self._poolwatch is not None:
                api.pool_close(self._poolwatch)

    def close_connection(self):
        # The pool closes its connections itself (shrinking, expiry, a
        # broken connection, closing the pool): each leaves the pool.
        owner = self._poolwatch
        self._poolwatch = None
        if owner is not None and not self.closed:
            api.conn_closed(owner[0], owner[1])
        return connection_close(self)

    Pool._connect = _connect
    Pool.getconn = getconn
    Pool.putconn = putconn
    Pool.close = close
    Connection.close = close_connection
