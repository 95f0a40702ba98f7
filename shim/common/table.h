/* uthash, configured once for all of poolwatch's tables.
 *
 * - Running out of memory must never take the host down: with
 *   HASH_NONFATAL_OOM an add that cannot allocate leaves the item out of
 *   the table (the callers then lose track of that one item) instead of
 *   calling exit().
 * - Every key is an address (a PGconn, a pool handle, an interned stack, a
 *   return address). uthash's default hash is built for strings; one
 *   multiplication spreads addresses as well, in a few instructions. */
#ifndef POOLWATCH_TABLE_H
#define POOLWATCH_TABLE_H

#include <stdint.h>
#include <string.h>

#define HASH_NONFATAL_OOM 1

static inline unsigned pw__hash_address(const void *keyptr) {
  uintptr_t key;
  memcpy(&key, keyptr, sizeof(key));
  return (unsigned)((key * 0x9E3779B97F4A7C15ull) >> 32);
}
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = pw__hash_address(keyptr))

#include <uthash.h>

#endif
