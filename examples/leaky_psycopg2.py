"""A small web-style handler with a psycopg2 leak: every request takes a
connection from a hand-rolled cache, and the error path forgets to give it
back. The cache lives in a long-running worker thread, as in a real
service, so the leaked connections are still open when the process exits.

    LD_PRELOAD=libpoolwatch.so /usr/bin/python3 leaky_psycopg2.py

Connects through the PG* environment variables.
"""
import queue
import threading

import psycopg2

requests = queue.Queue()
done = threading.Event()


def handle(user_id, in_use):
    conn = psycopg2.connect("application_name=leaky_psycopg2")
    in_use.append(conn)
    with conn.cursor() as cur:
        cur.execute("select %s::int", (user_id,))
        if user_id % 3 == 0:
            return None  # the bug: "not found" path returns with conn still in use
        result = cur.fetchone()[0]
    in_use.remove(conn)
    conn.close()
    return result


def worker():
    in_use = []  # lives as long as the worker, like a real connection cache
    while True:
        user_id = requests.get()
        if user_id is None:
            done.set()
            threading.Event().wait()  # the worker idles until the process exits
        print("user", user_id, "->", handle(user_id, in_use))


threading.Thread(target=worker, daemon=True).start()
for user_id in range(1, 7):
    requests.put(user_id)
requests.put(None)
done.wait()
