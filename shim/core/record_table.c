/* Growing the open-addressing record tables (core/record_table.h). */
#include "core/record_table.h"

#include <stdlib.h>

const char pw__record_tombstone;

bool pw__record_table_grow(pw__record_table *t, size_t size) {
  size_t capacity = t->capacity ? t->capacity : 16;
  /* At least twice the live records, removed ones left behind. */
  while ((t->live + 1) * 2 > capacity) capacity *= 2;
  char *slots = calloc(capacity, size);
  if (!slots) return false;
  pw__record_table old = *t;
  *t = (pw__record_table){.slots = slots, .capacity = capacity, .limit = capacity / 4 * 3};
  for (size_t i = 0; i < old.capacity; i++) {
    const char *record = old.slots + i * size;
    const void *key = pw__record_key(record);
    if (!key || key == PW__TOMBSTONE) continue;
    size_t j = pw__hash_address(&key) & (capacity - 1);
    while (pw__record_key(t->slots + j * size)) j = (j + 1) & (capacity - 1);
    memcpy(t->slots + j * size, record, size);
    t->live++;
  }
  free(old.slots);
  return true;
}
