/* Every copy of libpq loaded in the process, each with its own table of
 * real functions and its own set of hooks to hand out.
 *
 * Any loaded object that defines libpq's connection API is a libpq,
 * whatever its file is called: Python wheels (psycopg2-binary,
 * psycopg-binary) ship a renamed copy such as libpq-1a2b3c4d.so.5.15, and
 * one process can hold it beside the system's. A PGconn made by one copy
 * must be finished, polled and asked its status by that same copy. */
#ifndef POOLWATCH_LIBPQ_COPIES_H
#define POOLWATCH_LIBPQ_COPIES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hooks/guard.h"
#include "hooks/libpq_api.h"
#include "hooks/resolve.h"

/* Copies that can get hooks of their own, for dlsym and RTLD_DEEPBIND
 * callers. A program's own calls through its PLT are tracked whatever the
 * number of copies. */
#define PW__LIBPQ_MAX_COPIES 8

typedef struct pw__libpq {
  _Atomic uintptr_t begin, end;    /* where the copy is mapped */
  _Atomic unsigned long generation; /* pw__unloads when last checked */
#define PW__LIBPQ_FIELD(name, ...) __typeof__(name) *_Atomic name;
  PW__LIBPQ_HOOKS(PW__LIBPQ_FIELD)
  PW__LIBPQ_HELPERS(PW__LIBPQ_FIELD)
#undef PW__LIBPQ_FIELD
} pw__libpq;

extern pw__libpq pw__libpq_copies[PW__LIBPQ_MAX_COPIES];

/* The hooks handed out for each copy, by copy and PW__LIBPQ_<name>
 * (defined with the hooks, in hooks/libpq.c). */
extern void *const pw__libpq_copy_hooks[PW__LIBPQ_MAX_COPIES][PW__LIBPQ_HOOK_COUNT];

/* Whether COPY is where FN lies, and nothing was unloaded since COPY was
 * last checked. */
static inline bool pw__libpq_copy_holds(const pw__libpq *copy, const void *fn) {
  uintptr_t at = (uintptr_t)fn;
  return at >= atomic_load_explicit(&copy->begin, memory_order_relaxed) &&
         at < atomic_load_explicit(&copy->end, memory_order_relaxed) &&
         atomic_load_explicit(&copy->generation, memory_order_relaxed) ==
             atomic_load_explicit(&pw__unloads, memory_order_relaxed);
}

/* The copy that defines FN, one of its functions, found or registered on
 * first sight; NULL when FN is in no libpq, or when every slot is taken. */
const pw__libpq *pw__libpq_copy_find(const void *fn);

/* The same, trying first the copy that served this thread's last call: a
 * process almost always has one, and this runs twice a connect. */
static inline const pw__libpq *pw__libpq_copy_of(const void *fn) {
  const pw__libpq *last = pw__thread.libpq_copy;
  return last && fn && pw__libpq_copy_holds(last, fn) ? last : pw__libpq_copy_find(fn);
}

/* Whether NAME is a function poolwatch hooks. */
bool pw__libpq_is_hooked_name(const char *name);

/* What a lookup of NAME that found FN should return: the hook of FN's
 * copy, or FN itself when FN is no libpq's (or no slot is left). */
void *pw__libpq_hook_for(void *fn, const char *name);

#endif
