"""A small service on a SQLAlchemy QueuePool that leaks checkouts.

Each "request" takes a connection from the pool; the report handler
forgets to give its connection back. With pool_size=2 and max_overflow=1,
the fourth request waits for a connection nobody will return and fails
with "QueuePool limit of size 2 overflow 1 reached, connection timed out"
(the program exits with status 1).

    poolwatch run -- python3 examples/leaky_sqlalchemy.py

poolwatch reports the timeout as pool_exhausted with the stacks holding
the pool's three connections, and those three checkouts as leaked.
Connects to the server named by PGHOST/PGPORT/PGUSER/PGDATABASE.
"""
import sys

import sqlalchemy
from sqlalchemy import text

engine = sqlalchemy.create_engine("postgresql+psycopg2://", pool_size=2, max_overflow=1,
                                  pool_timeout=1)
held = []  # where the report handler's connections end up


def list_orders():
    with engine.connect() as conn:  # returned to the pool: fine
        return conn.execute(text("select 1")).scalar()


def monthly_report():
    conn = engine.connect()  # never closed: the leak
    held.append(conn)
    return conn.execute(text("select 2")).scalar()


def main():
    for request in range(4):
        try:
            list_orders()
            monthly_report()
        except sqlalchemy.exc.TimeoutError as error:
            print("request %d failed: %s" % (request, str(error).splitlines()[0]), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
