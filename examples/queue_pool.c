/* A small blocking connection pool over libpq, shaped like SQLAlchemy's QueuePool. */
#include "queue_pool.h"

#include <errno.h>
#include <poolwatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct queue_pool {
  pthread_mutex_t lock;
  pthread_cond_t returned;
  char *conninfo;
  int size, max_overflow, timeout_ms;
  int open;          /* connections open, idle or in use */
  int idle_count;
  PGconn **idle;     /* a stack of idle connections */
  pw_pool *watch;    /* NULL when poolwatch is not loaded */
};

queue_pool *queue_pool_new(const char *name, const char *conninfo, int size, int max_overflow,
                           int timeout_ms) {
  queue_pool *pool = calloc(1, sizeof(*pool));
  if (!pool) return NULL;
  pool->idle = calloc((size_t)(size + max_overflow), sizeof(PGconn *));
  pool->conninfo = strdup(conninfo);
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->returned, NULL);
  pool->size = size;
  pool->max_overflow = max_overflow;
  pool->timeout_ms = timeout_ms;
  pool->watch = pw_pool_declare(name, size, size + max_overflow);
  return pool;
}

static PGconn *connect_one(queue_pool *pool) {
  PGconn *conn = PQconnectdb(pool->conninfo);
  int ok = PQstatus(conn) == CONNECTION_OK;
  pw_conn_opened(pool->watch, conn, ok);
  if (!ok) {
    pw_conn_closed(pool->watch, conn);
    PQfinish(conn);
    return NULL;
  }
  return conn;
}

PGconn *queue_pool_get(queue_pool *pool) {
  pw_checkout_begin(pool->watch);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += pool->timeout_ms / 1000;
  deadline.tv_nsec += (long)(pool->timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  PGconn *conn = NULL;
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    if (pool->idle_count > 0) {
      conn = pool->idle[--pool->idle_count];
      break;
    }
    if (pool->open < pool->size + pool->max_overflow) {
      pool->open++;
      pthread_mutex_unlock(&pool->lock);
      conn = connect_one(pool); /* never connect while holding the lock */
      pthread_mutex_lock(&pool->lock);
      if (!conn) pool->open--;
      break;
    }
    if (pthread_cond_timedwait(&pool->returned, &pool->lock, &deadline) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&pool->lock);
  pw_checkout_end(pool->watch, conn);
  return conn;
}

void queue_pool_put(queue_pool *pool, PGconn *conn) {
  pw_checkin(pool->watch, conn, PQtransactionStatus(conn) != PQTRANS_IDLE);
  pthread_mutex_lock(&pool->lock);
  /* Overflow connections are closed on return, as QueuePool does. */
  int overflow = pool->open > pool->size;
  if (overflow)
    pool->open--;
  else
    pool->idle[pool->idle_count++] = conn;
  pthread_cond_signal(&pool->returned);
  pthread_mutex_unlock(&pool->lock);
  if (overflow) {
    pw_conn_closed(pool->watch, conn);
    PQfinish(conn);
  }
}

void queue_pool_close(queue_pool *pool) {
  pthread_mutex_lock(&pool->lock);
  for (int i = 0; i < pool->idle_count; i++) {
    pw_conn_closed(pool->watch, pool->idle[i]);
    PQfinish(pool->idle[i]);
  }
  pool->idle_count = 0;
  pthread_mutex_unlock(&pool->lock);
  pw_pool_close(pool->watch);
  pthread_cond_destroy(&pool->returned);
  pthread_mutex_destroy(&pool->lock);
  free(pool->idle);
  free(pool->conninfo);
  free(pool);
}
