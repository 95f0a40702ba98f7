/* What every language walker shares: finding its interpreter's code in the
 * process once, a per-thread cache from interpreter positions to source
 * frames, the module a source file belongs to, and the merge of the source
 * frames into the native stack. A walker only reads its interpreter's
 * frames into a pw__source_stack. */
#ifndef POOLWATCH_SOURCE_WALK_H
#define POOLWATCH_SOURCE_WALK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW__SOURCE_PATH_MAX 1024
#define PW__SOURCE_STACK_MAX 128

/* ---- the interpreter's code ---------------------------------------------- */

typedef struct pw__interpreter_code {
  /* The function that runs interpreted code (Python's
   * _PyEval_EvalFrameDefault, PHP's execute_ex), when each of its calls
   * can be matched with the source frames it ran; else empty. */
  uintptr_t eval_begin, eval_end;
  /* The executable segment of the object holding the interpreter. */
  uintptr_t text_begin, text_end;
  char path[PW__SOURCE_PATH_MAX]; /* the interpreter's file */
} pw__interpreter_code;

/* Fills CODE from SYMBOL, a function of the interpreter found with dlsym;
 * with EVAL true, SYMBOL is the eval function and its bounds are kept. */
bool pw__interpreter_code_find(void *symbol, bool eval, pw__interpreter_code *code);

/* The lazy search for an interpreter: the first capture calls FIND; a
 * capture in another thread meanwhile goes without source frames rather
 * than wait. A walker whose interpreter is absent is disarmed. */
enum { PW__INTERPRETER_UNKNOWN, PW__INTERPRETER_LOOKING, PW__INTERPRETER_FOUND,
       PW__INTERPRETER_ABSENT };
bool pw__interpreter_search(_Atomic int *state, bool (*find)(void));

static inline bool pw__interpreter_found(_Atomic int *state, bool (*find)(void)) {
  return atomic_load_explicit(state, memory_order_acquire) == PW__INTERPRETER_FOUND ||
         pw__interpreter_search(state, find);
}

/* ---- positions to source frames, cached per thread -------------------------
 * A capture from a known call site reads no strings: the thread remembers
 * the stack word of the interpreter positions it saw last. An interpreter
 * object's address may be reused by another after it is freed, so a key
 * holds more than one of the position's objects (code, name, file, ...). */
#define PW__SOURCE_KEY_WORDS 5

typedef struct pw__source_key {
  uintptr_t words[PW__SOURCE_KEY_WORDS];
} pw__source_key;

/* The stack word cached for KEY in this thread, or 0. */
uintptr_t pw__source_cache_find(const pw__source_key *key);
/* Remembers WORD for KEY in this thread (nothing when memory runs out). */
void pw__source_cache_store(const pw__source_key *key, uintptr_t word);

/* A frame left out of the stack (never a stack word: those have the tag
 * bit set). */
#define PW__SOURCE_HIDDEN ((uintptr_t)1)

/* ---- modules ------------------------------------------------------------- */

/* The module of a frame in FILE: the first directory (or file) under the
 * first of ROOTS found in FILE (site-packages, a gem, a Perl library
 * directory), else INTERPRETER. */
void pw__source_module(const char *file, const char *const *roots, size_t root_count,
                       const char *interpreter, char *out, size_t size);
/* The path of the object the dynamic linker names OBJECT_NAME (empty for
 * the main program, whose path is read from /proc), or FALLBACK. */
void pw__source_object_path(const char *object_name, const char *fallback, char *out,
                            size_t size);

/* ---- merging ------------------------------------------------------------- */

/* A thread's source frames, innermost first. With BY_RUN, RUN_END[k] is
 * where the frames run by the k-th eval call (innermost first) end;
 * without it the frames are not tied to eval calls. */
typedef struct pw__source_stack {
  uintptr_t words[PW__SOURCE_STACK_MAX];
  int count;
  bool by_run;
  int run_end[PW__SOURCE_STACK_MAX];
  int runs;
} pw__source_stack;

/* Empties S; its arrays are left as they are, which a capture would
 * otherwise clear on every call. */
static inline void pw__source_stack_init(pw__source_stack *s, bool by_run) {
  s->count = s->runs = 0;
  s->by_run = by_run;
}

/* Adds WORD (skipping 0 and hidden frames); false when the stack is full. */
static inline bool pw__source_push(pw__source_stack *s, uintptr_t word) {
  if (s->count >= PW__SOURCE_STACK_MAX) return false;
  if (word && word != PW__SOURCE_HIDDEN) s->words[s->count++] = word;
  return true;
}

/* Ends the run of the current eval call. */
static inline void pw__source_end_run(pw__source_stack *s) {
  if (s->runs < PW__SOURCE_STACK_MAX) s->run_end[s->runs++] = s->count;
}

/* Writes the N native return addresses NATIVE (innermost first) to OUT,
 * at most CAP words, with the interpreter's own frames replaced by the
 * source frames of STACK, and returns how many. With runs, each eval frame
 * gives way to the frames it ran, and native frames between them (a C
 * extension calling back into the interpreter) keep their place. Without,
 * all source frames stand where the innermost interpreter frame stood, and
 * native frames between interpreter frames are left out, their place among
 * the source frames being unknown. */
int pw__source_merge(const pw__interpreter_code *code, const pw__source_stack *stack,
                     const uintptr_t *native, int n, uintptr_t *out, int cap);

#endif
