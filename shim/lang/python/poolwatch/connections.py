"""What identifies a driver's connection to poolwatch: its PGconn.

The shim already tracks every PGconn the program opened (as the implicit
libpq pool's); telling it the PGconn a pool holds moves that connection
into the pool, so a pool's idle connections are not reported as libpq
leaks. psycopg2 exposes the address as `conn.pgconn_ptr`, psycopg 3 as
`conn.pgconn.pgconn_ptr`; for other drivers the object's id serves, being
unique while the connection lives.
"""

from poolwatch.api import pointer

# libpq's PGTransactionStatusType: a transaction is open (or failed) and
# not yet ended.
_IN_TRANSACTION = (2, 3)  # PQTRANS_INTRANS, PQTRANS_INERROR


def address_of(connection):
    """The address that identifies the connection, an int."""
    address = getattr(connection, "pgconn_ptr", None)  # psycopg2
    if address is None:
        pgconn = getattr(connection, "pgconn", None)  # psycopg 3
        address = getattr(pgconn, "pgconn_ptr", None) if pgconn is not None else None
    return address or id(connection)


def handle_of(connection):
    """The connection's handle for the shim's calls (a c_void_p)."""
    return pointer(address_of(connection))


def in_transaction(connection):
    """Has CONNECTION a transaction open that a pool would roll back?"""
    try:
        if getattr(connection, "closed", False):
            return False
        info = getattr(connection, "info", None)
        status = getattr(info, "transaction_status", None)
        return status is not None and int(status) in _IN_TRANSACTION
    except Exception:
        return False
