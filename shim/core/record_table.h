/* Open-addressing hash tables whose records live in their slots, keyed by
 * the address that is each record's first member: one registry shard's
 * live checkouts (keyed by handle) and open connections (keyed by PGconn).
 *
 * A checkout and its checkin are the hottest events poolwatch sees, a
 * connect and its finish the next. With the records inline, they cost no
 * allocation, and a lookup is a hash and a short probe; uthash (used for
 * the colder tables) costs several times that in pointer chasing and
 * bookkeeping. The functions are inline and take the record's size, so
 * each table's typed functions (PW__RECORD_TABLE) compile to fixed-size
 * copies. The caller locks. */
#ifndef POOLWATCH_RECORD_TABLE_H
#define POOLWATCH_RECORD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/table.h"

typedef struct pw__record_table {
  char *slots;     /* key NULL: empty; PW__TOMBSTONE: removed */
  size_t capacity; /* a power of two, or 0 */
  size_t live, tombstones;
  /* Three quarters of the capacity, removed slots counting: probes stay
   * short and every probe meets an empty slot. */
  size_t limit;
} pw__record_table;

/* A removed slot keeps probes going past it until the next rebuild. */
extern const char pw__record_tombstone __attribute__((visibility("hidden")));
#define PW__TOMBSTONE ((const void *)&pw__record_tombstone)

/* Rebuilds T into enough slots for one more record, RECORD_SIZE bytes
 * each; false when memory runs out. */
bool pw__record_table_grow(pw__record_table *t, size_t record_size);

static inline const void *pw__record_key(const void *record) {
  const void *key;
  memcpy(&key, record, sizeof(key));
  return key;
}

static inline void *pw__record_find(const pw__record_table *t, const void *key, size_t size) {
  if (!t->capacity || !key) return NULL;
  for (size_t i = pw__hash_address(&key) & (t->capacity - 1);; i = (i + 1) & (t->capacity - 1)) {
    void *slot = t->slots + i * size;
    const void *k = pw__record_key(slot);
    if (k == key) return slot;
    if (!k) return NULL;
  }
}

/* The slot for KEY's new record, which the caller then writes whole: the
 * slot of the record KEY has already (copied to *REPLACED if not NULL
 * first, and said so), else a free one, its key set. NULL when memory runs
 * out. */
static inline void *pw__record_claim(pw__record_table *t, const void *key, size_t size,
                                     void *replaced, bool *was_replaced) {
  *was_replaced = false;
  if (!key) return NULL;
  if (t->live + t->tombstones >= t->limit && !pw__record_table_grow(t, size)) return NULL;
  /* One probe: the key's own slot if it is there (a checkout no hook saw
   * end, a PGconn freed behind poolwatch's back), else the first removed
   * slot on the way, else the empty one that ends it. */
  char *reuse = NULL;
  for (size_t i = pw__hash_address(&key) & (t->capacity - 1);; i = (i + 1) & (t->capacity - 1)) {
    char *slot = t->slots + i * size;
    const void *k = pw__record_key(slot);
    if (k == key) {
      if (replaced) memcpy(replaced, slot, size);
      *was_replaced = true;
      return slot;
    }
    if (!k) {
      if (!reuse) reuse = slot;
      break;
    }
    if (k == PW__TOMBSTONE && !reuse) reuse = slot;
  }
  if (pw__record_key(reuse) == PW__TOMBSTONE) t->tombstones--;
  memcpy(reuse, &key, sizeof(key));
  t->live++;
  return reuse;
}

/* Removes the record at SLOT, found by a lookup or a walk. */
static inline void pw__record_remove_at(pw__record_table *t, void *slot) {
  const void *tombstone = PW__TOMBSTONE;
  memcpy(slot, &tombstone, sizeof(tombstone));
  t->live--;
  t->tombstones++;
}

/* Removes KEY's record into *OUT; false when there is none. */
static inline bool pw__record_take(pw__record_table *t, const void *key, size_t size, void *out) {
  void *slot = pw__record_find(t, key, size);
  if (!slot) return false;
  memcpy(out, slot, size);
  pw__record_remove_at(t, slot);
  return true;
}

/* The live record after AFTER (NULL: the first), in slot order. */
static inline void *pw__record_next(const pw__record_table *t, const void *after, size_t size) {
  size_t i = after ? (size_t)((const char *)after - t->slots) / size + 1 : 0;
  for (; i < t->capacity; i++) {
    const void *k = pw__record_key(t->slots + i * size);
    if (k && k != PW__TOMBSTONE) return t->slots + i * size;
  }
  return NULL;
}

/* NAME_find, NAME_claim, NAME_take, NAME_remove_at, NAME_first and
 * NAME_next for a pw__record_table of RECORD. Walk with
 * for (r = NAME_first(t); r; r = NAME_next(t, r)). */
#define PW__RECORD_TABLE(name, record)                                                     \
  static inline record *name##_find(pw__record_table *t, const void *key) {                \
    return (record *)pw__record_find(t, key, sizeof(record));                              \
  }                                                                                        \
  static inline record *name##_claim(pw__record_table *t, const void *key,                 \
                                     record *replaced, bool *was_replaced) {               \
    return (record *)pw__record_claim(t, key, sizeof(record), replaced, was_replaced);      \
  }                                                                                        \
  static inline bool name##_take(pw__record_table *t, const void *key, record *out) {      \
    return pw__record_take(t, key, sizeof(record), out);                                   \
  }                                                                                        \
  static inline void name##_remove_at(pw__record_table *t, record *r) {                    \
    pw__record_remove_at(t, r);                                                            \
  }                                                                                        \
  static inline record *name##_first(pw__record_table *t) {                                \
    return (record *)pw__record_next(t, NULL, sizeof(record));                             \
  }                                                                                        \
  static inline record *name##_next(pw__record_table *t, record *r) {                      \
    return (record *)pw__record_next(t, r, sizeof(record));                                \
  }

#endif
