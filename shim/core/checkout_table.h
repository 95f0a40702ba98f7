/* The live checkouts of one registry shard: an open-addressing hash table
 * keyed by handle, records stored in the slots.
 *
 * A checkout and its checkin are the hottest events poolwatch sees. With
 * the records inline, a pair costs no allocation, and a lookup is a hash
 * and a short probe; uthash (used for the colder tables) costs several
 * times that in pointer chasing and bookkeeping. The caller locks. */
#ifndef POOLWATCH_CHECKOUT_TABLE_H
#define POOLWATCH_CHECKOUT_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/records.h"

typedef struct pw__checkout_table {
  pw__checkout_record *slots; /* handle NULL: empty; PW__TOMBSTONE: removed */
  size_t capacity;            /* a power of two, or 0 */
  size_t live, tombstones;
} pw__checkout_table;

/* The record for HANDLE, or NULL. */
pw__checkout_record *pw__checkout_table_find(pw__checkout_table *t, const void *handle);
/* Stores RECORD (replacing one with the same handle, which is copied to
 * *REPLACED if not NULL and says so). Returns false when memory runs out. */
bool pw__checkout_table_put(pw__checkout_table *t, const pw__checkout_record *record,
                            pw__checkout_record *replaced, bool *was_replaced);
/* Removes HANDLE's record into *OUT; false when there is none. */
bool pw__checkout_table_take(pw__checkout_table *t, const void *handle, pw__checkout_record *out);
/* Removes the record at SLOT, found by walking the table. */
void pw__checkout_table_remove_at(pw__checkout_table *t, pw__checkout_record *slot);

/* Walks the live records: for (r = first(t); r; r = next(t, r)). */
pw__checkout_record *pw__checkout_table_first(pw__checkout_table *t);
pw__checkout_record *pw__checkout_table_next(pw__checkout_table *t, pw__checkout_record *r);

#endif
