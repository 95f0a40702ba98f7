/* The table of findings, one record per kind, pool and stack. */
#include "core/findings.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/spinlock.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pw__finding_record *records;
static size_t count, cap;
/* Past this many distinct findings, new ones are dropped: a program
 * making findings from ever new stacks must not grow poolwatch forever. */
#define MAX_RECORDS 4096

static const char *const names[PW__FINDING_KIND_COUNT] = {
  [PW__FINDING_POOL_EXHAUSTED] = "pool_exhausted",
  [PW__FINDING_CHECKIN_IN_TRANSACTION] = "checkin_in_transaction",
  [PW__FINDING_CLOSED_WHILE_CHECKED_OUT] = "closed_while_checked_out",
  [PW__FINDING_DOUBLE_CHECKIN] = "double_checkin",
  [PW__FINDING_DOUBLE_FINISH] = "double_finish",
  [PW__FINDING_HELD_TOO_LONG] = "held_too_long",
  [PW__FINDING_POOL_NOT_CLOSED] = "pool_not_closed",
};

const char *pw__finding_kind_name(pw__finding_kind kind) {
  return kind < PW__FINDING_KIND_COUNT ? names[kind] : "unknown";
}

static pw__finding_record *find(pw__finding_kind kind, const pw__pool *pool,
                                const pw__stack *stack) {
  for (size_t i = 0; i < count; i++)
    if (records[i].kind == kind && records[i].pool == pool && records[i].stack == stack)
      return &records[i];
  return NULL;
}

bool pw__findings_bump(pw__finding_kind kind, const pw__pool *pool, const pw__stack *stack) {
  pthread_mutex_lock(&lock);
  pw__finding_record *f = find(kind, pool, stack);
  if (f) f->count++;
  pthread_mutex_unlock(&lock);
  return f != NULL;
}

void pw__findings_insert(const pw__finding_record *record) {
  pw__holder *unused = record->holders;
  pthread_mutex_lock(&lock);
  pw__finding_record *f = find(record->kind, record->pool, record->stack);
  if (f) {
    f->count++;
  } else {
    if (count == cap && cap < MAX_RECORDS) {
      size_t grown_cap = cap ? cap * 2 : 16;
      pw__finding_record *grown = realloc(records, grown_cap * sizeof(*grown));
      if (grown) {
        records = grown;
        cap = grown_cap;
      }
    }
    if (count < cap) {
      records[count++] = *record;
      unused = NULL;
    }
  }
  pthread_mutex_unlock(&lock);
  free(unused);
}

void pw__finding_totals(const pw__pool *pool, uint64_t totals[PW__FINDING_KIND_COUNT]) {
  /* Read by the monitor, which the exit path waits for. */
  if (!pw__mutex_lock_bounded(&lock)) return;
  for (size_t i = 0; i < count; i++)
    if (records[i].pool == pool) totals[records[i].kind] += records[i].count;
  pthread_mutex_unlock(&lock);
}

bool pw__findings_copy(pw__snapshot *s) {
  bool ok = true;
  if (!pw__mutex_lock_bounded(&lock)) {
    s->incomplete = true;
    return true;
  }
  if (count) {
    s->findings = calloc(count, sizeof(*s->findings));
    ok = s->findings != NULL;
    for (size_t i = 0; ok && i < count; i++) {
      pw__finding_record *copy = &s->findings[s->finding_count++];
      *copy = records[i];
      copy->holders = NULL;
      copy->holder_count = 0;
      size_t bytes = records[i].holder_count * sizeof(pw__holder);
      if (bytes && (copy->holders = malloc(bytes))) {
        memcpy(copy->holders, records[i].holders, bytes);
        copy->holder_count = records[i].holder_count;
      }
    }
  }
  pthread_mutex_unlock(&lock);
  return ok;
}

void pw__findings_atfork_prepare(void) { pthread_mutex_lock(&lock); }
void pw__findings_atfork_parent(void) { pthread_mutex_unlock(&lock); }

void pw__findings_atfork_child(void) {
  pthread_mutex_init(&lock, NULL);
  for (size_t i = 0; i < count; i++) free(records[i].holders);
  count = 0;
}
