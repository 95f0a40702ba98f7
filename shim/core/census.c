/* The records the census marked that were closed after it (census.h). */
#include "core/census.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/spinlock.h"
#include "core/redact.h"

/* Only touched after the census, while the runtime shuts down: one lock
 * is plenty. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pw__conn_record *conns;
static size_t conn_count, conn_cap;
static pw__checkout_record *checkouts;
static size_t checkout_count, checkout_cap;

static bool grow(void **array, size_t count, size_t *cap, size_t size) {
  if (count < *cap) return true;
  size_t n = *cap ? *cap * 2 : 16;
  void *p = realloc(*array, n * size);
  if (!p) return false;
  *array = p;
  *cap = n;
  return true;
}

void pw__census_keep_conn(const pw__conn_record *record) {
  pthread_mutex_lock(&lock);
  if (grow((void **)&conns, conn_count, &conn_cap, sizeof(*conns))) {
    conns[conn_count] = *record;
    conns[conn_count++].closed_at_shutdown = true;
  } else {
    pw__description_release(record->conninfo);
  }
  pthread_mutex_unlock(&lock);
}

void pw__census_keep_checkout(const pw__checkout_record *record) {
  pthread_mutex_lock(&lock);
  if (grow((void **)&checkouts, checkout_count, &checkout_cap, sizeof(*checkouts))) {
    checkouts[checkout_count] = *record;
    checkouts[checkout_count++].closed_at_shutdown = true;
  }
  pthread_mutex_unlock(&lock);
}

bool pw__census_copy(pw__snapshot *s) {
  bool ok = true;
  if (!pw__mutex_lock_bounded(&lock)) {
    s->incomplete = true;
    return true;
  }
  if (conn_count) {
    pw__conn_record *grown = realloc(s->conns, (s->conn_count + conn_count) * sizeof(*grown));
    if ((ok = grown != NULL)) {
      s->conns = grown;
      for (size_t i = 0; i < conn_count; i++) {
        pw__conn_record *r = &s->conns[s->conn_count++];
        *r = conns[i];
        r->conninfo = conns[i].conninfo ? strdup(conns[i].conninfo) : NULL;
      }
    }
  }
  if (ok && checkout_count) {
    pw__checkout_record *grown =
        realloc(s->checkouts, (s->checkout_count + checkout_count) * sizeof(*grown));
    if ((ok = grown != NULL)) {
      s->checkouts = grown;
      memcpy(s->checkouts + s->checkout_count, checkouts, checkout_count * sizeof(*checkouts));
      s->checkout_count += checkout_count;
    }
  }
  pthread_mutex_unlock(&lock);
  return ok;
}

void pw__census_atfork_child(void) {
  pthread_mutex_init(&lock, NULL);
  for (size_t i = 0; i < conn_count; i++) pw__description_release(conns[i].conninfo);
  conn_count = checkout_count = 0;
}
