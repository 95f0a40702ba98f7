"""psycopg2.pool's SimpleConnectionPool and ThreadedConnectionPool.

Each pool is a poolwatch pool of kind "psycopg2.pool", named after its
class and connection string (password left out). getconn is a checkout,
"connection pool exhausted" a failed one (pool_exhausted, with the
holders' stacks); putconn a checkin, which rolls back an open transaction
(checkin_in_transaction) or closes the connection; closeall closes the
pool and whatever the program still holds (closed_while_checked_out).
pool.size counts the connections the pool keeps open, its configured size
is minconn and its maximum maxconn.
"""
from ctypes import c_double
from time import perf_counter

from poolwatch import api
from poolwatch.connections import handle_of, in_transaction


def _name(pool_class, args, kwargs):
    import psycopg2.extensions

    try:
        params = psycopg2.extensions.parse_dsn(args[0] if args else kwargs.get("dsn") or "")
    except Exception:
        params = {}
    params.update({k: v for k, v in kwargs.items() if k != "dsn"})
    shown = " ".join("%s=%s" % (k, v) for k, v in sorted(params.items())
                     if k not in ("password", "passfile") and v is not None)
    return ("%s %s" % (pool_class.__name__, shown)).strip()


def instrument(module):
    Abstract = module.AbstractConnectionPool
    PoolError = module.PoolError
    original_init = Abstract.__init__
    original_connect = Abstract._connect
    original_getconn = Abstract._getconn
    original_putconn = Abstract._putconn
    original_closeall = Abstract._closeall
    # Read as attributes with a class default, never through __dict__:
    # asking CPython 3.11 for an object's __dict__ turns its attributes
    # into a dictionary for good, and the pool's own reads slow down.
    Abstract._poolwatch = None

    def __init__(self, minconn, maxconn, *args, **kwargs):
        # Declared before the pool opens its first connections.
        self._poolwatch = api.declare("psycopg2.pool", _name(type(self), args, kwargs),
                                      int(minconn), int(maxconn))
        self._poolwatch_conns = {}
        original_init(self, minconn, maxconn, *args, **kwargs)

    def _connect(self, key=None):
        conn = original_connect(self, key)
        handle = self._poolwatch
        if handle is not None:
            pointer = handle_of(conn)
            self._poolwatch_conns[id(conn)] = pointer
            api.conn_opened(handle, pointer, 1)
        return conn

    def _getconn(self, key=None):
        handle = self._poolwatch
        if handle is None or (key is not None and key in self._used):
            return original_getconn(self, key)  # the same checkout again
        start = perf_counter()
        try:
            conn = original_getconn(self, key)
        except PoolError:
            if not self.closed:  # "connection pool exhausted"
                api.checkout_waited(handle, None, c_double(perf_counter() - start))
            raise
        api.checkout_waited(handle, self._poolwatch_conns.get(id(conn)) or handle_of(conn),
                            c_double(perf_counter() - start))
        return conn

    def _putconn(self, conn, key=None, close=False):
        handle = self._poolwatch
        known = key is not None or id(conn) in self._rused
        if handle is None or self.closed or not known:
            return original_putconn(self, conn, key, close)  # raises PoolError
        pointer = self._poolwatch_conns.get(id(conn)) or handle_of(conn)
        # Told before the call: once returned, another thread may get it.
        api.checkin(handle, pointer, 1 if in_transaction(conn) else 0)
        try:
            return original_putconn(self, conn, key, close)
        finally:
            if conn.closed:  # the pool closed it (above minconn, or close=True)
                self._poolwatch_conns.pop(id(conn), None)
                api.conn_closed(handle, pointer)

    def _closeall(self):
        handle = self._poolwatch
        if handle is not None and not self.closed:
            # Before the real close: one the program still holds is
            # closed under its feet (closed_while_checked_out).
            for conn in self._pool + list(self._used.values()):
                pointer = self._poolwatch_conns.pop(id(conn), None)
                if pointer is not None:
                    api.conn_closed(handle, pointer)
        try:
            return original_closeall(self)
        finally:
            if handle is not None and self.closed:
                api.pool_close(handle)

    Abstract.__init__ = __init__
    Abstract._connect = _connect
    Abstract._getconn = _getconn
    Abstract._putconn = _putconn
    Abstract._closeall = _closeall
    # SimpleConnectionPool's public methods are the functions themselves,
    # copied when the class was made.
    module.SimpleConnectionPool.getconn = _getconn
    module.SimpleConnectionPool.putconn = _putconn
    module.SimpleConnectionPool.closeall = _closeall
