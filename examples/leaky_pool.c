/* A request handler over queue_pool (a home-grown pool annotated with
 * poolwatch.h) that forgets to return its connection when a lookup finds
 * nothing. Run enough requests and the pool runs dry: later requests time
 * out with "pool limit reached, connection timed out".
 *
 *     leaky_pool [REQUESTS]      (default 8; pool size 2, overflow 1) */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "queue_pool.h"

/* Returns 1 when the user exists. The early return on "not found" is
 * the bug: the connection never goes back to the pool. */
static int user_exists(queue_pool *pool, int id) {
  PGconn *conn = queue_pool_get(pool);
  if (!conn) {
    fprintf(stderr, "request %d: pool limit reached, connection timed out\n", id);
    return -1;
  }
  char sql[64];
  snprintf(sql, sizeof(sql), "SELECT 1 WHERE %d %% 3 = 0", id);
  PGresult *res = PQexec(conn, sql);
  int found = PQntuples(res) > 0;
  PQclear(res);
  if (!found) return 0; /* leaks CONN */
  queue_pool_put(pool, conn);
  return 1;
}

int main(int argc, char **argv) {
  int requests = argc > 1 ? atoi(argv[1]) : 8;
  queue_pool *pool = queue_pool_new("orders", "", 2, 1, 200);
  int found = 0, failed = 0;
  for (int id = 0; id < requests; id++) {
    int r = user_exists(pool, id);
    if (r > 0) found++;
    if (r < 0) failed++;
  }
  printf("%d requests, %d found, %d timed out\n", requests, found, failed);
  queue_pool_close(pool);
  return 0;
}
