/* poolwatch.h - annotations for home-grown connection pools.
 *
 * A pool that poolwatch does not know (your own, or one inside a driver)
 * tells it what happens with these calls, and poolwatch then tracks it
 * like a libzdb pool: metrics, leaked checkouts with the stack that took
 * them, pool_exhausted with the stacks holding the pool, and so on.
 *
 * Without libpoolwatch.so preloaded every call is a no-op costing one
 * branch: the functions are weak references that stay NULL, so a program
 * links and runs unchanged and the annotations can stay in for good.
 *
 *     pw_pool *pool = pw_pool_declare("orders", 10, 15);
 *     pw_checkout_begin(pool);            // a request starts waiting
 *     conn = my_pool_get(...);            // your pool's own waiting
 *     pw_checkout_end(pool, conn);        // conn NULL: timed out
 *     ...
 *     pw_checkin(pool, conn, PQtransactionStatus(conn) != PQTRANS_IDLE);
 *     my_pool_put(conn);
 *
 * Connections are identified by any pointer unique while they live (the
 * PGconn, or your wrapper around it). All calls are thread-safe.
 *
 * Language runtimes use the same calls: poolwatch's Python support binds
 * the pw_v1_* symbols with ctypes, declares SQLAlchemy's and psycopg's
 * pools with pw_pool_declare_kind, and calls pw_census once the program's
 * own code has finished. */
#ifndef POOLWATCH_H
#define POOLWATCH_H

#ifdef __cplusplus
extern "C" {
#endif

#define POOLWATCH_API_VERSION 1

/* An opaque handle to a declared pool; NULL when poolwatch is absent. */
typedef struct pw_pool pw_pool;

/* Versioned entry points, defined by libpoolwatch.so. Call the pw_*
 * wrappers below instead. */
extern pw_pool *pw_v1_pool_declare(const char *name, int size, int max_size)
    __attribute__((weak));
extern void pw_v1_pool_close(pw_pool *pool) __attribute__((weak));
extern void pw_v1_checkout_begin(pw_pool *pool) __attribute__((weak));
extern void pw_v1_checkout_end(pw_pool *pool, const void *conn) __attribute__((weak));
extern void pw_v1_checkin(pw_pool *pool, const void *conn, int in_transaction)
    __attribute__((weak));
extern void pw_v1_conn_opened(pw_pool *pool, const void *conn, int ok) __attribute__((weak));
extern void pw_v1_conn_closed(pw_pool *pool, const void *conn) __attribute__((weak));
extern pw_pool *pw_v1_pool_declare_kind(const char *kind, const char *name, int size,
                                        int max_size) __attribute__((weak));
extern void pw_v1_pool_overflow(pw_pool *pool, long overflow) __attribute__((weak));
extern long pw_v1_census(void) __attribute__((weak));
extern void pw_v1_source_hide(const char *path_prefix) __attribute__((weak));
extern void pw_v1_checkout_waited(pw_pool *pool, const void *conn, double waited_seconds)
    __attribute__((weak));

/* Is poolwatch loaded into this process? */
static inline int pw_active(void) { return pw_v1_pool_declare != 0; }

/* Declares the pool NAME: SIZE connections it keeps (its configured size,
 * the base of pool.overflow) and MAX_SIZE it may open at most (-1: no
 * limit). Declaring the same name again updates the sizes. */
static inline pw_pool *pw_pool_declare(const char *name, int size, int max_size) {
  return pw_v1_pool_declare ? pw_v1_pool_declare(name, size, max_size) : 0;
}

/* Like pw_pool_declare, for a pool of a library poolwatch knows by name:
 * KIND is "sqlalchemy", "psycopg2.pool", "psycopg_pool", "activerecord" or
 * "dbi" (reports show it, and a pool of these kinds left open at exit is
 * not a finding, since nobody closes them then); another KIND is an "api"
 * pool. Pools are told apart by kind and name. */
static inline pw_pool *pw_pool_declare_kind(const char *kind, const char *name, int size,
                                            int max_size) {
  return pw_v1_pool_declare_kind ? pw_v1_pool_declare_kind(kind, name, size, max_size) : 0;
}

/* POOL's library counts overflow its own way: report OVERFLOW as
 * pool.overflow from now on (SQLAlchemy's QueuePool.overflow() is
 * negative while the pool holds fewer connections than its size).
 * Without this call pool.overflow is the connections above the size. */
static inline void pw_pool_set_overflow(pw_pool *pool, long overflow) {
  if (pw_v1_pool_overflow) pw_v1_pool_overflow(pool, overflow);
}

/* The program's own code has finished: the language runtime is about to
 * finalize, and its finalizers will close what the program left open.
 * Every connection and checkout open now is a leak, reported at exit with
 * "closed_by": "shutdown" if a finalizer closes it afterwards; a pool's
 * idle connections are not. Returns how many were open (0 without
 * poolwatch). */
static inline long pw_census(void) { return pw_v1_census ? pw_v1_census() : 0; }

/* Source files under PATH_PREFIX are the instrumentation's own, not the
 * program's: stacks start after their outermost frame. So are the shared
 * objects under it loaded by the time of the call (an extension module);
 * calling it again with the same prefix adds those loaded since.
 * poolwatch's own language packages call it for their directory. */
static inline void pw_source_hide(const char *path_prefix) {
  if (pw_v1_source_hide) pw_v1_source_hide(path_prefix);
}

/* The pool was shut down; a pool never closed is reported at exit. */
static inline void pw_pool_close(pw_pool *pool) {
  if (pw_v1_pool_close) pw_v1_pool_close(pool);
}

/* This thread starts asking POOL for a connection. The time until
 * pw_checkout_end on the same thread is its wait time. */
static inline void pw_checkout_begin(pw_pool *pool) {
  if (pw_v1_checkout_begin) pw_v1_checkout_begin(pool);
}

/* The request got CONN, or NULL when it failed or timed out (recorded as
 * pool_exhausted, with the stacks of whoever holds the pool's
 * connections). */
static inline void pw_checkout_end(pw_pool *pool, const void *conn) {
  if (pw_v1_checkout_end) pw_v1_checkout_end(pool, conn);
}

/* pw_checkout_begin and pw_checkout_end in one call, for callers that
 * measure the wait themselves: the request got CONN (NULL: it failed)
 * after waiting WAITED_SECONDS. Language runtimes use it, where each call
 * into the shim costs more than reading a clock. */
static inline void pw_checkout_waited(pw_pool *pool, const void *conn, double waited_seconds) {
  if (pw_v1_checkout_waited) pw_v1_checkout_waited(pool, conn, waited_seconds);
}

/* CONN goes back to POOL. Call it before handing CONN back, and say
 * whether it still has a transaction open (checkin_in_transaction). */
static inline void pw_checkin(pw_pool *pool, const void *conn, int in_transaction) {
  if (pw_v1_checkin) pw_v1_checkin(pool, conn, in_transaction);
}

/* POOL opened a connection (OK: it connected) or closed one. When the
 * pool opens connections with libpq itself, poolwatch sees those too;
 * these calls are what makes pool.size right for any other kind. */
static inline void pw_conn_opened(pw_pool *pool, const void *conn, int ok) {
  if (pw_v1_conn_opened) pw_v1_conn_opened(pool, conn, ok);
}
static inline void pw_conn_closed(pw_pool *pool, const void *conn) {
  if (pw_v1_conn_closed) pw_v1_conn_closed(pool, conn);
}

#ifdef __cplusplus
}
#endif

#endif
