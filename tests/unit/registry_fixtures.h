/* What the registry's unit tests share: per-test pools, handles and stacks
 * (the registry and pools are process-global, so every test makes its own
 * and looks only at those), and readers of the registry's state. Included
 * by one test executable each, so the statics are that executable's own. */
#ifndef POOLWATCH_REGISTRY_FIXTURES_H
#define POOLWATCH_REGISTRY_FIXTURES_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/pool.h"
#include "core/redact.h"
#include "core/registry.h"
#include "core/stack.h"
#include "unit_assert.h"

/* ---- per-test pools, handles and stacks ------------------------------ */

static char pool_keys[64];
static int next_pool_key;

static inline pw__pool *fresh_pool(pw__pool_kind kind, const char *name) {
  pw__pool *p = pw__pool_find(&pool_keys[next_pool_key++], kind, name);
  ASSERT_TRUE(p != NULL, "pw__pool_find returned NULL for a new key");
  return p;
}

/* Handles and PGconns are opaque addresses to the registry. */
static char handle_space[1 << 16];
static int next_handle;

static inline const void *fresh_handle(void) { return &handle_space[16 * next_handle++]; }

/* A stack that no other test shares: three made-up return addresses. */
static inline const pw__stack *fake_stack(uintptr_t tag) {
  uintptr_t frames[3] = {0x400000 + tag * 0x100, 0x500000 + tag, 0x600000 + tag};
  const pw__stack *s = pw__stack_intern(frames, 3);
  ASSERT_TRUE(s != NULL, "pw__stack_intern returned NULL");
  return s;
}

static inline pw__pool_metrics metrics_of(pw__pool *p) {
  pw__pool_metrics m;
  pw__pool_metrics_get(p, &m);
  return m;
}

static inline size_t live_conns_in(pw__pool *pool) {
  pw__snapshot s;
  ASSERT_TRUE(pw__snapshot_take(&s), "pw__snapshot_take failed");
  size_t n = 0;
  for (size_t i = 0; i < s.conn_count; i++) n += s.conns[i].pool == pool;
  pw__snapshot_free(&s);
  return n;
}

static inline size_t live_checkouts_in(pw__pool *pool) {
  pw__snapshot s;
  ASSERT_TRUE(pw__snapshot_take(&s), "pw__snapshot_take failed");
  size_t n = 0;
  for (size_t i = 0; i < s.checkout_count; i++) n += s.checkouts[i].pool == pool;
  pw__snapshot_free(&s);
  return n;
}

/* Takes a snapshot into S and returns its finding of KIND made at STACK
 * (NULL if none). The caller frees S. */
static inline const pw__finding_record *find_finding(pw__snapshot *s, pw__finding_kind kind,
                                              const pw__stack *stack) {
  ASSERT_TRUE(pw__snapshot_take(s), "pw__snapshot_take failed");
  for (size_t i = 0; i < s->finding_count; i++)
    if (s->findings[i].kind == kind && s->findings[i].stack == stack) return &s->findings[i];
  return NULL;
}

static const uint64_t ms = 1000000;

#endif
