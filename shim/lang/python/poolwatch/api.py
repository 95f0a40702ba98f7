"""poolwatch.h's versioned entry points, bound with ctypes.

The symbols are looked up in the process itself (libpoolwatch.so is
preloaded, so dlsym on the main program finds them). When they are absent,
`available` is False and nothing else here may be called.
"""
import ctypes

available = False

# A pw_pool * is an opaque address; connections are identified by any
# address unique while they live (the PGconn when the driver exposes it).
_pool = ctypes.c_void_p
_conn = ctypes.c_void_p


def _bind(library, name, restype, argtypes):
    function = getattr(library, "pw_v1_" + name)
    function.restype = restype
    function.argtypes = argtypes
    return function


try:
    # PyDLL keeps the GIL across the call: these calls never block, and
    # releasing and taking the GIL back would cost more than the call.
    _library = ctypes.PyDLL(None)
    pool_declare_kind = _bind(_library, "pool_declare_kind", _pool,
                              [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int])
    pool_close = _bind(_library, "pool_close", None, [_pool])
    pool_overflow = _bind(_library, "pool_overflow", None, [_pool, ctypes.c_long])
    checkout_waited = _bind(_library, "checkout_waited", None,
                            [_pool, _conn, ctypes.c_ulonglong])
    checkin = _bind(_library, "checkin", None, [_pool, _conn, ctypes.c_int])
    conn_opened = _bind(_library, "conn_opened", None, [_pool, _conn, ctypes.c_int])
    conn_closed = _bind(_library, "conn_closed", None, [_pool, _conn])
    census = _bind(_library, "census", ctypes.c_long, [])
    available = True
except (OSError, AttributeError):
    pass

# Pool names in reports hold at most this many bytes (the shim keeps 63).
_NAME_BYTES = 63
_names_used = {}


def declare(kind, name, size, max_size):
    """Declares a pool of KIND; a second pool with the same name gets a
    number, so two engines on one URL stay two pools."""
    count = _names_used.get(name, 0) + 1
    _names_used[name] = count
    if count > 1:
        name = "%s #%d" % (name, count)
    encoded = name.encode("utf-8", "replace")[:_NAME_BYTES]
    return pool_declare_kind(kind.encode(), encoded, int(size), int(max_size))
