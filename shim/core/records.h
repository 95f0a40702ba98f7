/* The records the registry keeps and hands out: live connections and
 * checkouts, findings, and the snapshot a report is built from. */
#ifndef POOLWATCH_RECORDS_H
#define POOLWATCH_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/pool.h"
#include "core/stack.h"

typedef enum pw__connect_state {
  PW__CONNECTED,  /* holds a server connection */
  PW__FAILED,     /* the connect failed; the PGconn still needs PQfinish */
  PW__CONNECTING, /* an asynchronous connect is under way */
} pw__connect_state;

typedef enum pw__finding_kind {
  PW__FINDING_POOL_EXHAUSTED,
  PW__FINDING_CHECKIN_IN_TRANSACTION,
  PW__FINDING_CLOSED_WHILE_CHECKED_OUT,
  PW__FINDING_DOUBLE_CHECKIN,
  PW__FINDING_DOUBLE_FINISH,
  PW__FINDING_HELD_TOO_LONG,
  PW__FINDING_POOL_NOT_CLOSED,
  PW__FINDING_KIND_COUNT
} pw__finding_kind;

const char *pw__finding_kind_name(pw__finding_kind kind);

/* A live connection (a PGconn the program has not finished). */
typedef struct pw__conn_record {
  const void *conn;
  pw__pool *pool;
  const pw__stack *stack;
  uint64_t opened_ns;      /* monotonic; reports derive the wall time */
  uint64_t connect_start_ns;
  uint64_t blocking_ns;    /* time the program waited in a blocking connect */
  uint64_t connect_ns;     /* connect time as recorded, once connected */
  pid_t thread;
  pw__connect_state state;
  bool inherited;          /* opened by the parent before fork() */
  bool reported_held;      /* crossed POOLWATCH_LEAK_THRESHOLD already */
  bool at_census;          /* still open when the census was taken */
  bool closed_at_shutdown; /* open at the census, closed after it */
  /* Redacted. A live record holds a description (core/redact.h); a
   * snapshot's record (registry.h) holds a copy of its own, to free. */
  char *conninfo;
} pw__conn_record;

/* A live checkout (a pooled connection handed to the program). */
typedef struct pw__checkout_record {
  const void *handle;
  pw__pool *pool;
  const pw__stack *stack;
  uint64_t at_ns;          /* monotonic */
  pid_t thread;
  bool inherited;
  bool reported_held;      /* crossed POOLWATCH_LEAK_THRESHOLD already */
  bool at_census;          /* still checked out when the census was taken */
  bool closed_at_shutdown; /* out at the census, returned or closed after it */
} pw__checkout_record;

typedef struct pw__holder {
  const pw__stack *stack;
  size_t count;
} pw__holder;

typedef struct pw__finding_record {
  pw__finding_kind kind;
  pw__pool *pool;
  const pw__stack *stack;
  const pw__stack *other;
  uint64_t count;
  uint64_t first_wall_ns;
  char detail[96];
  pw__holder *holders;     /* pool_exhausted: who held the pool */
  size_t holder_count;
} pw__finding_record;

typedef struct pw__snapshot {
  pw__conn_record *conns;         /* live, non-inherited, then closed_at_shutdown */
  size_t conn_count;
  pw__checkout_record *checkouts; /* live, non-inherited, then closed_at_shutdown */
  size_t checkout_count;
  pw__finding_record *findings;
  size_t finding_count;
  uint64_t taken_ns, taken_wall_ns;
  /* A lock stayed held past its patience (a signal handler exited while
   * its thread held it): what sat behind it is missing. */
  bool incomplete;
} pw__snapshot;

#endif
