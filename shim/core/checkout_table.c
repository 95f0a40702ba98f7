/* The open-addressing table of one shard's live checkouts. */
#include "core/checkout_table.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/table.h"

/* A removed slot keeps probes going past it until the next rebuild. */
static const char tombstone;
#define TOMBSTONE ((const void *)&tombstone)

static bool occupied(const pw__checkout_record *slot) {
  return slot->handle && slot->handle != TOMBSTONE;
}

static size_t home(const pw__checkout_table *t, const void *handle) {
  return pw__hash_address(&handle) & (t->capacity - 1);
}

pw__checkout_record *pw__checkout_table_find(pw__checkout_table *t, const void *handle) {
  if (!t->capacity || !handle) return NULL;
  for (size_t i = home(t, handle);; i = (i + 1) & (t->capacity - 1)) {
    pw__checkout_record *slot = &t->slots[i];
    if (slot->handle == handle) return slot;
    if (!slot->handle) return NULL;
  }
}

/* Rebuilds into CAPACITY slots (at least twice the live records). */
static bool rebuild(pw__checkout_table *t, size_t capacity) {
  pw__checkout_record *slots = calloc(capacity, sizeof(*slots));
  if (!slots) return false;
  pw__checkout_table old = *t;
  *t = (pw__checkout_table){.slots = slots, .capacity = capacity};
  for (size_t i = 0; i < old.capacity; i++) {
    if (!occupied(&old.slots[i])) continue;
    size_t j = home(t, old.slots[i].handle);
    while (t->slots[j].handle) j = (j + 1) & (capacity - 1);
    t->slots[j] = old.slots[i];
    t->live++;
  }
  free(old.slots);
  return true;
}

bool pw__checkout_table_put(pw__checkout_table *t, const pw__checkout_record *record,
                            pw__checkout_record *replaced, bool *was_replaced) {
  *was_replaced = false;
  if (!record->handle || record->handle == TOMBSTONE) return false;
  /* At most three quarters used, removed slots counting: probes stay short
   * and every probe meets an empty slot. */
  if ((t->live + t->tombstones + 1) * 4 > t->capacity * 3) {
    size_t capacity = t->capacity ? t->capacity : 16;
    while ((t->live + 1) * 2 > capacity) capacity *= 2;
    if (!rebuild(t, capacity)) return false;
  }
  /* One probe: the handle's own slot if it is there (a checkout no hook
   * saw end), else the first removed slot on the way, else the empty one
   * that ends it. */
  pw__checkout_record *reuse = NULL;
  for (size_t i = home(t, record->handle);; i = (i + 1) & (t->capacity - 1)) {
    pw__checkout_record *slot = &t->slots[i];
    if (slot->handle == record->handle) {
      if (replaced) *replaced = *slot;
      *slot = *record;
      *was_replaced = true;
      return true;
    }
    if (!slot->handle) {
      if (!reuse) reuse = slot;
      break;
    }
    if (slot->handle == TOMBSTONE && !reuse) reuse = slot;
  }
  if (reuse->handle == TOMBSTONE) t->tombstones--;
  *reuse = *record;
  t->live++;
  return true;
}

void pw__checkout_table_remove_at(pw__checkout_table *t, pw__checkout_record *slot) {
  slot->handle = TOMBSTONE;
  t->live--;
  t->tombstones++;
}

bool pw__checkout_table_take(pw__checkout_table *t, const void *handle, pw__checkout_record *out) {
  pw__checkout_record *slot = pw__checkout_table_find(t, handle);
  if (!slot) return false;
  *out = *slot;
  pw__checkout_table_remove_at(t, slot);
  return true;
}

static pw__checkout_record *scan(pw__checkout_table *t, size_t from) {
  for (size_t i = from; i < t->capacity; i++)
    if (occupied(&t->slots[i])) return &t->slots[i];
  return NULL;
}

pw__checkout_record *pw__checkout_table_first(pw__checkout_table *t) { return scan(t, 0); }

pw__checkout_record *pw__checkout_table_next(pw__checkout_table *t, pw__checkout_record *r) {
  return scan(t, (size_t)(r - t->slots) + 1);
}
