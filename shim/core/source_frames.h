/* Frames of interpreted code (a Python function at its .py line, ...):
 * interned into a table of their own so a captured stack can hold one as
 * a single tagged word next to native return addresses, and language
 * walkers that turn interpreter frames into the frames they ran.
 *
 * A source frame is copied into poolwatch's memory when it is interned:
 * the interpreter's code objects may be gone by the time the exit report
 * is written (Python's finalization frees them first). Entries live until
 * the process exits. */
#ifndef POOLWATCH_SOURCE_FRAMES_H
#define POOLWATCH_SOURCE_FRAMES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pw__source_frame {
  const char *language; /* "python", ... */
  const char *function;
  const char *file;
  int line;
  const char *module;   /* the interpreter, or the package holding FILE */
} pw__source_frame;

/* User-space addresses never have the top bit set on the 64-bit targets
 * poolwatch runs on, so a stack word with it set is a source frame's id. */
#define PW__SOURCE_FRAME_TAG ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))

static inline bool pw__is_source_frame(uintptr_t word) { return (word & PW__SOURCE_FRAME_TAG) != 0; }

/* Interns a copy of FRAME and returns its stack word, the same for equal
 * frames; 0 when memory runs out. Safe from any thread. */
uintptr_t pw__source_frame_intern(const pw__source_frame *frame);
/* The frame behind stack word WORD, or NULL when WORD is not one. */
const pw__source_frame *pw__source_frame_lookup(uintptr_t word);
/* Frames in files under PREFIX are poolwatch's own (its Python package,
 * which calls the shim through ctypes, and its extension modules): a
 * captured stack starts after the outermost of them, so it begins with the
 * program's own calls. Shared objects under PREFIX count when they are
 * loaded by the time of the call; calling it again with the same PREFIX
 * adds those loaded since. */
void pw__source_hide(const char *prefix);
/* Whether stack word WORD is a source frame under a hidden prefix, or a
 * return address into a shared object under one. */
bool pw__source_frame_hidden(uintptr_t word);
/* Number of distinct source frames interned so far. */
uint32_t pw__source_frame_count(void);

struct pw__source_stack;
struct pw__interpreter_code;

/* A language walker reads the calling thread's source frames; the capture
 * then rewrites the native stack (return addresses, innermost first) into
 * the stack in the user's language: each interpreter frame that ran
 * interpreted code gives way to the source frames it ran
 * (pw__source_merge). */
typedef struct pw__source_walker {
  const char *language;
  /* Is the calling thread running code of this language right now?
   * Called on every capture: it must be cheap. */
  bool (*active)(void);
  /* Reads the thread's source frames into STACK and returns its
   * interpreter's code, or NULL to leave the stack native. */
  const struct pw__interpreter_code *(*read)(struct pw__source_stack *stack);
} pw__source_walker;

/* Adds WALKER (at most a handful, registered at load time). */
void pw__source_walker_register(const pw__source_walker *walker);
/* Called once by a walker that found no interpreter of its language in
 * the process: it is not asked again. */
void pw__source_walker_disarm(void);

/* How many registered walkers may still find their interpreter. */
extern _Atomic int pw__source_walkers_armed;
const pw__source_walker *pw__source_walker_find(void);

/* The registered walker active in this thread, or NULL. In a program
 * without an interpreter, every capture after the first costs one load. */
static inline const pw__source_walker *pw__source_walker_active(void) {
  return atomic_load_explicit(&pw__source_walkers_armed, memory_order_relaxed)
             ? pw__source_walker_find() : NULL;
}

#endif
