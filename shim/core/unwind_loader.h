/* libunwind, loaded on the first stack capture. Linked, it would map
 * libunwind and liblzma into every process that inherits the preload (a
 * shell, make, a test runner under `poolwatch run`), and link libunwind's
 * own `backtrace` over glibc's for the whole program; only a process that
 * checks out or connects needs it. Loaded with RTLD_LOCAL, its symbols
 * stay poolwatch's. */
#ifndef POOLWATCH_UNWIND_LOADER_H
#define POOLWATCH_UNWIND_LOADER_H

#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* The soname of Debian's libunwind (libunwind8); libunwind.so.1 is LLVM's,
 * a different library with another interface. */
#define PW__LIBUNWIND_SONAME "libunwind.so.8"

/* libunwind.h maps these names to architecture-specific symbols (with
 * UNW_LOCAL_ONLY, _ULx86_64_step and so on): the table takes their
 * types from the macros and looks the real symbols up by the same
 * expansion. */
typedef struct pw__libunwind {
  int (*getcontext)(unw_context_t *);
  int (*init_local)(unw_cursor_t *, unw_context_t *);
  int (*step)(unw_cursor_t *);
  int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
  int (*is_signal_frame)(unw_cursor_t *);
  int (*backtrace)(void **, int);
} pw__libunwind;

/* The loaded library, or NULL when it cannot be loaded (stacks are then
 * not captured; one warning says so). Safe from any thread. */
const pw__libunwind *pw__libunwind_load(void);

#endif
