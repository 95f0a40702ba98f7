/* The registry's shards, shared by the files that make up the registry
 * (registry.c, handles.c, registry_read.c) and by nothing else.
 *
 * Tables are sharded by address with a lock per shard. No lock is ever
 * held across a call into libpq or a pool, which can block for seconds. */
#ifndef POOLWATCH_REGISTRY_SHARDS_H
#define POOLWATCH_REGISTRY_SHARDS_H

#include <stdint.h>

#include "common/spinlock.h"
#include "common/table.h"
#include "core/record_table.h"
#include "core/records.h"

#define PW__HIDDEN __attribute__((visibility("hidden")))

#define SHARD_COUNT 32
/* Recently finished connections and returned checkouts, per shard, so a
 * second finish can name the stack of the first, and a second checkin the
 * stack of the checkout it returned. */
#define RECENT_COUNT 32

PW__RECORD_TABLE(pw__conn_table, pw__conn_record)
PW__RECORD_TABLE(pw__checkout_table, pw__checkout_record)

/* A pool's connection object and the PGconn inside it. */
typedef struct handle_entry {
  const void *handle;
  const void *conn;
  pw__pool *pool;
  UT_hash_handle hh;
} handle_entry;

typedef struct recent {
  const void *key;
  const pw__stack *stack;
  pw__pool *pool;
} recent;

typedef struct shard {
  pw__spinlock lock;
  pw__record_table conns;     /* pw__conn_record by PGconn */
  pw__record_table checkouts; /* pw__checkout_record by handle */
  handle_entry *handles;
  recent finished[RECENT_COUNT];
  recent returned[RECENT_COUNT];
  unsigned finished_next, returned_next;
} shard;

extern PW__HIDDEN shard pw__shards[SHARD_COUNT];

static inline shard *shard_of(const void *key) {
  uintptr_t k = (uintptr_t)key;
  return &pw__shards[((k >> 4) ^ (k >> 12)) % SHARD_COUNT];
}

#endif
