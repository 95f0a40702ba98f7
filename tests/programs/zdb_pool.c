/* A libzdb program (Debian libzdb-dev) in three modes:
 *
 *   zdb_pool exhaust          initial 2, max 3: three checkouts from two call
 *                             sites, a fourth fails (pool exhausted), one is
 *                             returned inside a transaction, two leak, and
 *                             the pool is never stopped.
 *   zdb_pool stress T N       T threads each do N checkout+close pairs on a
 *                             pool of T connections, then stop and free it.
 *   zdb_pool hold             checks one connection out, prints "held", waits
 *                             for a line on stdin, returns it, stops the pool.
 *   zdb_pool grow             checks out one more connection every 100 ms,
 *                             eight in all, returning none: a slow leak.
 *   zdb_pool throw            a pool that cannot connect throws from
 *                             ConnectionPool_start (libzdb's exceptions are
 *                             longjmps); the program catches it, then leaks a
 *                             connection of its own and a checkout of a good
 *                             pool.
 *
 * The connection comes from PGHOST (a socket directory), PGUSER, PGDATABASE. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zdb.h>

static ConnectionPool_T new_pool_at(const char *socket_dir, int initial, int max) {
  char url[1024];
  /* libzdb insists on a password; the test cluster trusts local users. */
  snprintf(url, sizeof(url), "postgresql://localhost/%s?user=%s&password=unused&unix-socket=%s",
           getenv("PGDATABASE"), getenv("PGUSER"), socket_dir);
  ConnectionPool_T pool = ConnectionPool_new(URL_new(url));
  ConnectionPool_setInitialConnections(pool, initial);
  ConnectionPool_setMaxConnections(pool, max);
  return pool;
}

static ConnectionPool_T new_pool(int initial, int max) {
  ConnectionPool_T pool = new_pool_at(getenv("PGHOST"), initial, max);
  ConnectionPool_start(pool);
  return pool;
}

static Connection_T checkout_for_report(ConnectionPool_T pool) {
  return ConnectionPool_getConnection(pool); /* pwtest:report_checkout */
}

static Connection_T checkout_for_visit(ConnectionPool_T pool) {
  return ConnectionPool_getConnection(pool); /* pwtest:visit_checkout */
}

static Connection_T c;

static void checkout_for_visit_into(ConnectionPool_T pool, Connection_T *out) {
  *out = checkout_for_visit(pool);
}

static int exhaust(void) {
  ConnectionPool_T pool = new_pool(2, 3);
  Connection_T reports[3];
  /* One call site for all three: the third fails, the pool is at its max
   * (initial 2, max 3) once checkout_for_visit holds one. */
  for (int i = 0; i < 3; i++) {
    reports[i] = checkout_for_report(pool);
    if (i == 1) checkout_for_visit_into(pool, &c);
  }
  printf("checkouts %d %d %d %d\n", reports[0] != NULL, reports[1] != NULL, c != NULL,
         reports[2] != NULL);
  Connection_execute(c, "BEGIN");
  Connection_execute(c, "SET LOCAL statement_timeout = 5000");
  Connection_close(c); /* pwtest:checkin_in_transaction */
  return 0; /* two checkouts leak; the pool is never stopped */
}

typedef struct work {
  ConnectionPool_T pool;
  int pairs, failed;
} work;

static void *worker(void *arg) {
  work *w = arg;
  for (int i = 0; i < w->pairs; i++) {
    Connection_T c = ConnectionPool_getConnection(w->pool);
    if (!c) {
      w->failed++;
      continue;
    }
    Connection_close(c);
  }
  return NULL;
}

static int stress(int threads, int pairs) {
  ConnectionPool_T pool = new_pool(threads, threads);
  pthread_t tid[64];
  work w[64];
  for (int t = 0; t < threads; t++) {
    w[t] = (work){pool, pairs, 0};
    pthread_create(&tid[t], NULL, worker, &w[t]);
  }
  int failed = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    failed += w[t].failed;
  }
  ConnectionPool_stop(pool);
  ConnectionPool_free(&pool);
  printf("pairs %d failed %d\n", threads * pairs, failed);
  return 0;
}

static Connection_T checkout_and_hold(ConnectionPool_T pool) {
  return ConnectionPool_getConnection(pool); /* pwtest:hold_checkout */
}

static int hold(void) {
  ConnectionPool_T pool = new_pool(1, 2);
  Connection_T c = checkout_and_hold(pool);
  printf("held\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof(line), stdin)) line[0] = '\0';
  Connection_close(c);
  ConnectionPool_stop(pool);
  ConnectionPool_free(&pool);
  printf("returned\n");
  return 0;
}

static Connection_T checkout_and_forget(ConnectionPool_T pool) {
  return ConnectionPool_getConnection(pool); /* pwtest:grow_checkout */
}

static int grow(void) {
  ConnectionPool_T pool = new_pool(1, 8);
  int held = 0;
  for (int i = 0; i < 8; i++) {
    if (checkout_and_forget(pool)) held++;
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  printf("held %d\n", held);
  return 0;
}

static PGconn *open_own_connection(void) {
  return PQconnectdb(""); /* pwtest:own_connect */
}

static int throw_then_leak(void) {
  /* Made outside TRY: ConnectionPool_new sets up libzdb's exceptions. */
  ConnectionPool_T unreachable = new_pool_at("/nonexistent", 1, 1);
  TRY {
    ConnectionPool_start(unreachable);
  }
  CATCH(SQLException) {
    printf("start failed\n");
  }
  END_TRY;
  PGconn *own = open_own_connection();
  ConnectionPool_T pool = new_pool(1, 1);
  Connection_T c = checkout_for_report(pool);
  printf("own %d checkout %d\n", PQstatus(own) == CONNECTION_OK, c != NULL);
  return 0; /* OWN and C leak; the pool is never stopped */
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "exhaust") == 0) return exhaust();
  if (strcmp(mode, "stress") == 0 && argc == 4) {
    int threads = atoi(argv[2]);
    return stress(threads < 1 ? 1 : threads > 64 ? 64 : threads, atoi(argv[3]));
  }
  if (strcmp(mode, "hold") == 0) return hold();
  if (strcmp(mode, "throw") == 0) return throw_then_leak();
  if (strcmp(mode, "grow") == 0) return grow();
  fprintf(stderr, "usage: zdb_pool exhaust | stress THREADS PAIRS | hold | grow | throw\n");
  return 2;
}
