/* A batch job over libzdb's connection pool that leaks: a report query
 * keeps its connection when the result is empty, one update returns its
 * connection with the transaction still open (libzdb rolls it back, and
 * the update silently vanishes), and the pool is never stopped.
 *
 *     leaky_libzdb       (needs PGHOST as a socket directory) */
#include <stdio.h>
#include <stdlib.h>
#include <zdb.h>

static Connection_T checkout(ConnectionPool_T pool) { return ConnectionPool_getConnection(pool); }

static void run_report(ConnectionPool_T pool, int day) {
  Connection_T c = checkout(pool);
  if (!c) {
    fprintf(stderr, "report %d: pool exhausted\n", day);
    return;
  }
  ResultSet_T r = Connection_executeQuery(c, "SELECT 1 WHERE %d %% 2 = 0", day);
  if (!ResultSet_next(r)) return; /* leaks C */
  Connection_close(c);
}

static void record_visit(ConnectionPool_T pool) {
  Connection_T c = checkout(pool);
  if (!c) return;
  Connection_execute(c, "BEGIN");
  Connection_execute(c, "SET LOCAL statement_timeout = 5000");
  Connection_close(c); /* forgot COMMIT: rolled back on return */
}

int main(void) {
  const char *socket_dir = getenv("PGHOST");
  const char *user = getenv("PGUSER");
  char url[1024];
  snprintf(url, sizeof(url), "postgresql://localhost/%s?user=%s&password=example&unix-socket=%s",
           getenv("PGDATABASE") ? getenv("PGDATABASE") : "postgres", user ? user : "postgres",
           socket_dir ? socket_dir : "/var/run/postgresql");
  URL_T u = URL_new(url);
  ConnectionPool_T pool = ConnectionPool_new(u);
  ConnectionPool_setInitialConnections(pool, 2);
  ConnectionPool_setMaxConnections(pool, 4);
  ConnectionPool_start(pool);
  for (int day = 1; day <= 6; day++) run_report(pool, day);
  record_visit(pool);
  printf("batch done\n");
  return 0; /* the pool is never stopped */
}
