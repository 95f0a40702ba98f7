/* queue_pool: a small blocking connection pool over libpq, shaped like
 * SQLAlchemy's QueuePool: SIZE connections kept, up to MAX_OVERFLOW more
 * opened under load and closed when returned, and a checkout that waits up
 * to TIMEOUT_MS for a connection before giving up. It is annotated with
 * poolwatch.h, so poolwatch sees its checkouts, waits and leaks. */
#ifndef QUEUE_POOL_H
#define QUEUE_POOL_H

#include <libpq-fe.h>

typedef struct queue_pool queue_pool;

queue_pool *queue_pool_new(const char *name, const char *conninfo, int size, int max_overflow,
                           int timeout_ms);
/* A connection, or NULL after TIMEOUT_MS ("pool limit reached, connection
 * timed out"). */
PGconn *queue_pool_get(queue_pool *pool);
void queue_pool_put(queue_pool *pool, PGconn *conn);
/* Closes the idle connections and the pool. */
void queue_pool_close(queue_pool *pool);

#endif
