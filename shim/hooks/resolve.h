/* The one place that finds the real functions poolwatch wraps: the
 * definition each caller would have bound to without poolwatch. */
#ifndef POOLWATCH_RESOLVE_H
#define POOLWATCH_RESOLVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A hook's cache of the real function found in the global scope, where
 * almost every program finds it. It stays valid until an object is
 * unloaded (dlclose), which may have taken the definition with it. */
typedef struct pw__real {
  void *_Atomic fn;
  _Atomic unsigned long generation; /* pw__unloads when FN was found */
} pw__real;

/* Counts dlclose calls (hooks/dl.c), so cached definitions are looked up
 * again after an object may have gone. */
extern _Atomic unsigned long pw__unloads;

/* Returns the definition of NAME that code at CALLER would have bound to
 * without poolwatch, or NULL when the process holds none.
 *
 * The loader searches the global scope first, then the caller's own
 * (local) scope. dlsym(RTLD_NEXT) answers the first, and is cached in
 * CACHE. An interpreter's extension module (psycopg2, DBD::Pg, Ruby's pg)
 * loads libpq with dlopen(RTLD_LOCAL), and a Python wheel ships its own
 * renamed copy (libpq-1a2b3c4d.so.5.15): the module's calls still reach
 * poolwatch's preloaded definitions, but only the module's own scope holds
 * the libpq it was linked against. A library is never loaded that the
 * program did not load itself. */
void *pw__resolve_slow(pw__real *cache, const char *name, const void *caller);

static inline void *pw__resolve(pw__real *cache, const char *name, const void *caller) {
  void *fn = atomic_load_explicit(&cache->fn, memory_order_acquire);
  if (fn && atomic_load_explicit(&cache->generation, memory_order_relaxed) ==
                atomic_load_explicit(&pw__unloads, memory_order_relaxed))
    return fn;
  return pw__resolve_slow(cache, name, caller);
}

/* Declares real_NAME(caller), the real NAME for code at CALLER, of the same
 * type as poolwatch's own definition. */
#define PW__REAL(name)                                                       \
  static __typeof__(name) *real_##name(const void *caller) {               \
    static pw__real cache;                                                 \
    return (__typeof__(name) *)pw__resolve(&cache, #name, caller);         \
  }

/* A handle of the already loaded object whose link map is named
 * LOADED_NAME (empty or NULL: the program itself), taken without loading
 * anything; NULL when it is not loaded. Close it with pw__real_dlclose. */
void *pw__loaded_handle(const char *loaded_name);

/* The real dlsym, never poolwatch's own (hooks/dl.c wraps dlsym). */
void *pw__real_dlsym(void *handle, const char *name);

/* The executable segment of the loaded object that holds ADDRESS, in
 * [*BEGIN, *END); false when no loaded object holds it. */
bool pw__text_range(const void *address, uintptr_t *begin, uintptr_t *end);

/* The whole mapped extent of the loaded object that holds ADDRESS. */
bool pw__object_range(const void *address, uintptr_t *begin, uintptr_t *end);

#endif
