"""poolwatch.h's versioned entry points, bound with ctypes.

The symbols are looked up in the process itself (libpoolwatch.so is
preloaded, so dlsym on the main program finds them). When they are absent,
`available` is False and nothing else here may be called.

The calls made on every checkout and checkin (checkout_waited, checkin)
declare no argument types: ctypes would then convert each argument
through a Python-level call, which costs more than the shim's own work.
Pools and connections are passed to them as ctypes.c_void_p objects made
once (see `pointer`), flags as small ints, which ctypes passes as they
are, and times as c_double. The other calls declare theirs, so they take
handles as c_void_p objects or as ints (SQLAlchemy's, which its C methods
read, are ints).
"""
import ctypes
import os

available = False


def pointer(address):
    """An address as the shim's calls take it (None stays NULL)."""
    return ctypes.c_void_p(address) if address else None


def _bind(library, name, restype, argtypes=None):
    function = getattr(library, "pw_v1_" + name)
    function.restype = restype
    if argtypes is not None:
        function.argtypes = argtypes
    return function


try:
    # PyDLL keeps the GIL across the call: these calls never block, and
    # releasing and taking the GIL back would cost more than the call.
    _library = ctypes.PyDLL(None)
    _pool_declare_kind = _bind(_library, "pool_declare_kind", ctypes.c_void_p,
                               [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int])
    pool_close = _bind(_library, "pool_close", None, [ctypes.c_void_p])
    pool_overflow = _bind(_library, "pool_overflow", None,
                          [ctypes.c_void_p, ctypes.c_long])         # (pool, overflow)
    checkout_waited = _bind(_library, "checkout_waited", None)      # (pool, conn, c_double seconds)
    checkin = _bind(_library, "checkin", None)                      # (pool, conn, 0 or 1)
    conn_opened = _bind(_library, "conn_opened", None,
                        [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int])
    conn_closed = _bind(_library, "conn_closed", None, [ctypes.c_void_p, ctypes.c_void_p])
    census = _bind(_library, "census", ctypes.c_long, [])
    _source_hide = _bind(_library, "source_hide", None, [ctypes.c_char_p])
    available = True
except (OSError, AttributeError):
    pass


def hide_own_code():
    """Stacks start at the program's own calls, not in this package (the
    directory that holds sitecustomize.py and poolwatch/): its Python
    files, and its extension modules loaded so far, so a module that loads
    one calls this again."""
    _source_hide(os.path.dirname(os.path.dirname(os.path.abspath(__file__))).encode() + b"/")


if available:
    hide_own_code()

# Pool names in reports hold at most this many bytes (the shim keeps 63).
_NAME_BYTES = 63
_names_used = {}


def declare(kind, name, size, max_size):
    """Declares a pool of KIND and returns its handle (a c_void_p); a
    second pool with the same name gets a number, so two engines on one
    URL stay two pools."""
    count = _names_used.get(name, 0) + 1
    _names_used[name] = count
    if count > 1:
        name = "%s #%d" % (name, count)
    encoded = name.encode("utf-8", "replace")[:_NAME_BYTES]
    return pointer(_pool_declare_kind(kind.encode(), encoded, int(size), int(max_size)))
