/* A pool's connection objects and the PGconns inside them (pw__handle_bind). */
#include "core/registry.h"

#include <stdlib.h>

#include "core/registry_shards.h"

void pw__handle_bind(const void *handle, const void *conn, pw__pool *pool) {
  handle_entry *e = malloc(sizeof(*e)), *old = NULL;
  if (!e) return;
  *e = (handle_entry){.handle = handle, .conn = conn, .pool = pool};
  shard *sh = shard_of(handle);
  pw__spin_lock(&sh->lock);
  HASH_FIND(hh, sh->handles, &handle, sizeof(handle), old);
  if (old) HASH_DEL(sh->handles, old);
  HASH_ADD(hh, sh->handles, handle, sizeof(e->handle), e);
  pw__spin_unlock(&sh->lock);
  free(old);
}

void pw__handle_unbind(const void *handle) {
  shard *sh = shard_of(handle);
  handle_entry *e;
  pw__spin_lock(&sh->lock);
  HASH_FIND(hh, sh->handles, &handle, sizeof(handle), e);
  if (e) HASH_DEL(sh->handles, e);
  pw__spin_unlock(&sh->lock);
  free(e);
}

bool pw__handle_lookup(const void *handle, const void **conn, pw__pool **pool,
                       bool *checked_out) {
  shard *sh = shard_of(handle);
  handle_entry *e;
  pw__checkout_record *c;
  pw__spin_lock(&sh->lock);
  HASH_FIND(hh, sh->handles, &handle, sizeof(handle), e);
  c = pw__checkout_table_find(&sh->checkouts, handle);
  if (e) {
    *conn = e->conn;
    *pool = e->pool;
  }
  *checked_out = c != NULL;
  pw__spin_unlock(&sh->lock);
  return e != NULL;
}
