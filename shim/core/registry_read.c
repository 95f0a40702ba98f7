/* Reading the registry across its shards: snapshots, walks, a pool's holders. */
#include "core/registry.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "core/census.h"
#include "core/findings.h"
#include "core/registry_shards.h"

typedef struct holder_set {
  pw__holder *holders;
  size_t count, cap;
} holder_set;

static void add_holder(holder_set *set, const pw__stack *stack) {
  size_t j = 0;
  while (j < set->count && set->holders[j].stack != stack) j++;
  if (j == set->count) {
    if (set->count == set->cap) {
      pw__holder *grown = realloc(set->holders, set->cap * 2 * sizeof(*grown));
      if (!grown) return;
      set->holders = grown;
      set->cap *= 2;
    }
    set->holders[set->count++] = (pw__holder){stack, 0};
  }
  set->holders[j].count++;
}

pw__holder *pw__pool_holders(pw__pool *pool, size_t *count) {
  holder_set set = {.cap = 16};
  *count = 0;
  if (!(set.holders = malloc(set.cap * sizeof(*set.holders)))) return NULL;
  for (int i = 0; i < SHARD_COUNT; i++) {
    shard *sh = &pw__shards[i];
    if (!pw__spin_lock_bounded(&sh->lock)) continue;
    for (pw__checkout_record *c = pw__checkout_table_first(&sh->checkouts); c;
         c = pw__checkout_table_next(&sh->checkouts, c))
      if (c->pool == pool && !c->inherited) add_holder(&set, c->stack);
    /* The libpq pool has no checkouts: its open connections are held. */
    if (pool->kind == PW__POOL_LIBPQ)
      for (pw__conn_record *c = pw__conn_table_first(&sh->conns); c;
           c = pw__conn_table_next(&sh->conns, c))
        if (c->pool == pool && !c->inherited) add_holder(&set, c->stack);
    pw__spin_unlock(&sh->lock);
  }
  *count = set.count;
  return set.holders;
}

/* ---- snapshots ------------------------------------------------------ */

#define GROW(array, count, cap)                                            \
  ((count) < (cap) ? true : grow((void **)&(array), &(cap), sizeof(*(array))))

static bool grow(void **array, size_t *cap, size_t size) {
  size_t n = *cap ? *cap * 2 : 64;
  void *p = realloc(*array, n * size);
  if (!p) return false;
  *array = p;
  *cap = n;
  return true;
}

/* ---- the census ------------------------------------------------------ */

size_t pw__census_take(void) {
  size_t marked = 0;
  for (int i = 0; i < SHARD_COUNT; i++) {
    shard *sh = &pw__shards[i];
    pw__spin_lock(&sh->lock);
    /* A pool's idle connections are the pool's, not leaks (see the
     * report's counts_as_leak): only the program's own are marked. */
    for (pw__conn_record *c = pw__conn_table_first(&sh->conns); c;
         c = pw__conn_table_next(&sh->conns, c)) {
      if (c->inherited || c->at_census) continue;
      if (c->pool->kind != PW__POOL_LIBPQ && !atomic_load(&c->pool->stopped)) continue;
      c->at_census = true;
      marked++;
    }
    for (pw__checkout_record *c = pw__checkout_table_first(&sh->checkouts); c;
         c = pw__checkout_table_next(&sh->checkouts, c)) {
      if (c->inherited || c->at_census) continue;
      c->at_census = true;
      marked++;
    }
    pw__spin_unlock(&sh->lock);
  }
  return marked;
}

bool pw__snapshot_take(pw__snapshot *s) {
  memset(s, 0, sizeof(*s));
  s->taken_ns = pw__now_ns();
  s->taken_wall_ns = pw__wall_ns();
  size_t conn_cap = 0, checkout_cap = 0;
  bool ok = true;
  for (int i = 0; i < SHARD_COUNT && ok; i++) {
    shard *sh = &pw__shards[i];
    if (!pw__spin_lock_bounded(&sh->lock)) {
      s->incomplete = true;
      continue;
    }
    for (pw__conn_record *c = pw__conn_table_first(&sh->conns); c && ok;
         c = pw__conn_table_next(&sh->conns, c)) {
      if (c->inherited) continue;
      if (!(ok = GROW(s->conns, s->conn_count, conn_cap))) break;
      pw__conn_record *r = &s->conns[s->conn_count++];
      *r = *c;
      r->conninfo = c->conninfo ? strdup(c->conninfo) : NULL;
    }
    for (pw__checkout_record *c = pw__checkout_table_first(&sh->checkouts); c && ok;
         c = pw__checkout_table_next(&sh->checkouts, c)) {
      if (c->inherited) continue;
      if (!(ok = GROW(s->checkouts, s->checkout_count, checkout_cap))) break;
      s->checkouts[s->checkout_count++] = *c;
    }
    pw__spin_unlock(&sh->lock);
  }
  if (ok) ok = pw__census_copy(s);
  if (ok) ok = pw__findings_copy(s);
  if (!ok) pw__snapshot_free(s);
  return ok;
}

void pw__snapshot_free(pw__snapshot *s) {
  for (size_t i = 0; i < s->conn_count; i++) free(s->conns[i].conninfo);
  for (size_t i = 0; i < s->finding_count; i++) free(s->findings[i].holders);
  free(s->conns);
  free(s->checkouts);
  free(s->findings);
  memset(s, 0, sizeof(*s));
}

void pw__checkouts_foreach(void (*fn)(pw__checkout_record *, void *), void *arg) {
  for (int i = 0; i < SHARD_COUNT; i++) {
    if (!pw__spin_lock_bounded(&pw__shards[i].lock)) continue;
    pw__record_table *t = &pw__shards[i].checkouts;
    for (pw__checkout_record *c = pw__checkout_table_first(t); c; c = pw__checkout_table_next(t, c))
      if (!c->inherited) fn(c, arg);
    pw__spin_unlock(&pw__shards[i].lock);
  }
}

void pw__conns_foreach(void (*fn)(pw__conn_record *, void *), void *arg) {
  for (int i = 0; i < SHARD_COUNT; i++) {
    if (!pw__spin_lock_bounded(&pw__shards[i].lock)) continue;
    pw__record_table *t = &pw__shards[i].conns;
    for (pw__conn_record *c = pw__conn_table_first(t); c; c = pw__conn_table_next(t, c))
      if (!c->inherited) fn(c, arg);
    pw__spin_unlock(&pw__shards[i].lock);
  }
}
