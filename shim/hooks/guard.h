/* Per-thread state that keeps hooks from counting the same event twice
 * and tells whose connection is being opened.
 *
 * libpq calls its own exported functions through the PLT (PQconnectdb
 * calls PQconnectStart, PQping connects and finishes): only the outermost
 * call is an event, which a depth counter tells. (libzdb's internal calls
 * are told by their return address instead; see hooks/libzdb.c.) */
#ifndef POOLWATCH_GUARD_H
#define POOLWATCH_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"

typedef struct pw__thread_state {
  int libpq_depth;       /* inside a libpq connect/finish hook */
  /* The libpq copy serving the outermost hooked call: libpq's calls to
   * its own exported functions go back to it. */
  const struct pw__libpq *libpq_copy;
  /* The pool whose own call is running, and its library's code: a
   * connection opened from that code belongs to the pool. The code range
   * also guards against a stale pool: libzdb reports errors by longjmp
   * (its TRY/CATCH exceptions), so a pool call that throws never comes
   * back to clear inside_pool. */
  pw__pool *inside_pool;
  uintptr_t inside_begin, inside_end;
  const void *opened;    /* last PGconn opened inside that pool call */
} pw__thread_state;

extern __thread pw__thread_state pw__thread __attribute__((tls_model("initial-exec")));

/* The pool a connection opened from CALLER belongs to, if a pool's own
 * code opened it. */
static inline pw__pool *pw__owning_pool(const void *caller) {
  uintptr_t at = (uintptr_t)caller;
  if (pw__thread.inside_pool && at >= pw__thread.inside_begin && at < pw__thread.inside_end)
    return pw__thread.inside_pool;
  return NULL;
}

/* Enter/leave a family: enter returns true for the outermost call.
 * (libpq never longjmps out of its calls, so the count stays right.) */
static inline bool pw__enter(int *depth) { return (*depth)++ == 0; }
static inline void pw__leave(int *depth) { (*depth)--; }

#endif
