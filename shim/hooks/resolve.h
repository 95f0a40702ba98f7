/* The one place that finds the real functions poolwatch wraps. */
#ifndef POOLWATCH_RESOLVE_H
#define POOLWATCH_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

/* Returns the definition of NAME that the program would have called
 * without poolwatch, or NULL.
 *
 * dlsym(RTLD_NEXT) finds it when the library is in the global scope. An
 * interpreter's extension module (psycopg2, DBD::Pg, Ruby's pg) loads
 * libpq with dlopen(RTLD_LOCAL): the module's calls still bind to
 * poolwatch's preloaded definitions, but RTLD_NEXT finds nothing, and
 * calling that NULL would crash the program. Then the already loaded
 * object whose file name starts with LIBRARY ("libpq.so") is searched.
 * A library is never loaded that the program did not load itself. */
void *pw__resolve(const char *name, const char *library);

/* The executable segment of the loaded object that holds ADDRESS, in
 * [*BEGIN, *END); false when no loaded object holds it. */
bool pw__text_range(const void *address, uintptr_t *begin, uintptr_t *end);

/* Declares a lazily resolved pointer to the real NAME, of the same type as
 * poolwatch's own definition, and a function real_NAME() returning it. */
#define PW__REAL(library, name)                                              \
  static __typeof__(name) *real_##name(void) {                             \
    static __typeof__(name) *_Atomic cached;                               \
    __typeof__(name) *fn = cached;                                         \
    if (!fn) {                                                             \
      fn = (__typeof__(name) *)pw__resolve(#name, library);                \
      cached = fn;                                                         \
    }                                                                      \
    return fn;                                                             \
  }

#endif
