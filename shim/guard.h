/* Per-thread state that keeps hooks from counting the same event twice.
 *
 * libpq calls its own exported functions through the PLT (PQconnectdb
 * calls PQconnectStart, PQping connects and finishes), and libzdb's
 * Connection_close calls ConnectionPool_returnConnection: only the
 * outermost call of each family is an event. The depth counters say
 * whether a hook runs inside another of the same family. */
#ifndef POOLWATCH_GUARD_H
#define POOLWATCH_GUARD_H

#include <stdbool.h>

#include "pool.h"

typedef struct pw__thread_state {
  int libpq_depth;       /* inside a libpq connect/finish hook */
  int pool_depth;        /* inside a pool checkout/checkin hook */
  pw__pool *inside_pool; /* the pool whose own call is running, if any */
  const void *opened;    /* last PGconn opened inside that pool call */
} pw__thread_state;

extern __thread pw__thread_state pw__thread __attribute__((tls_model("initial-exec")));

/* Enter/leave a family: enter returns true for the outermost call. */
static inline bool pw__enter(int *depth) { return (*depth)++ == 0; }
static inline void pw__leave(int *depth) { (*depth)--; }

#endif
