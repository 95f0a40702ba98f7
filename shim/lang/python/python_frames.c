/* Python frames in captured stacks: CPython 3.11's interpreter frames,
 * read from the capturing thread's own state, put where the
 * _PyEval_EvalFrameDefault frames that ran them stood (as py-spy --native
 * shows them).
 *
 * Nothing here links libpython or calls anything that takes the GIL or
 * allocates Python memory: drivers release the GIL around PQconnectdb
 * (psycopg2 does), so the thread that captures usually does not hold it.
 * Reading its own frames is still safe: only this thread pushes and pops
 * them, and each frame holds a reference to its code object. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_runtime.h>

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/source_frames.h"
#include "core/source_walk.h"
#include "lang/python/python_names.h"

/* The interpreter, found on the first capture with dlsym: Debian's
 * /usr/bin/python3 links libpython statically and exports its symbols, an
 * embedding program has libpython3.11.so. A process without Python pays one
 * failed lookup, once. */
typedef struct interpreter {
  PyThreadState *(*this_thread_state)(void);
  _PyRuntimeState *runtime;
  int (*addr_to_line)(PyCodeObject *, int);
  pw__interpreter_code code; /* eval: _PyEval_EvalFrameDefault */
} interpreter;

static _Atomic int state = PW__INTERPRETER_UNKNOWN;
static interpreter python;

static bool find_python(void) {
  interpreter *p = &python;
  const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
  void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
  /* The frame layout read below is 3.11's; other versions lay it out
   * differently, and their stacks keep the interpreter's native frames. */
  if (!version || !eval || (*version >> 16) != 0x030B) return false;
  p->this_thread_state = (PyThreadState * (*)(void)) dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
  p->runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
  p->addr_to_line = (int (*)(PyCodeObject *, int))dlsym(RTLD_DEFAULT, "PyCode_Addr2Line");
  return p->this_thread_state && p->runtime && p->addr_to_line &&
         pw__interpreter_code_find(eval, true, &p->code);
}

/* The innermost Python frame of this thread, or NULL: no interpreter, a
 * thread Python never saw (a C thread started by an extension), start-up
 * before the interpreter's core exists, or finalization, after which the
 * interpreter frees other threads' states and code objects (atexit
 * handlers still run before it, so their frames are shown). The runtime's
 * flags are read directly: two loads instead of two calls, on every
 * capture. Code run by site and sitecustomize comes after the core is up. */
static _PyInterpreterFrame *current_frame(void) {
  if (!pw__interpreter_found(&state, find_python) || !python.runtime->core_initialized ||
      _PyRuntimeState_GetFinalizing(python.runtime))
    return NULL;
  PyThreadState *thread = python.this_thread_state();
  if (!thread || !thread->cframe) return NULL;
  return thread->cframe->current_frame;
}

static bool python_active(void) { return current_frame() != NULL; }

/* ---- one frame's source location, cached ------------------------------ */

/* The byte offset of the instruction FRAME is at, as PyFrame_GetLineNumber
 * computes it. */
static int instruction_offset(const _PyInterpreterFrame *frame) {
  return (int)(frame->prev_instr - _PyCode_CODE(frame->f_code)) * (int)sizeof(_Py_CODEUNIT);
}

static uintptr_t intern_position(PyCodeObject *code, int offset) {
  char function[256], file[PW__SOURCE_PATH_MAX], module[PW__SOURCE_PATH_MAX];
  pw__python_string(code->co_qualname, function, sizeof(function));
  pw__python_string(code->co_filename, file, sizeof(file));
  /* The import system's own frames, as Python's tracebacks leave them out:
   * a connection opened while a module (or sitecustomize) is imported
   * would otherwise show a dozen importlib frames. */
  if (strncmp(file, "<frozen importlib._bootstrap", 28) == 0) return PW__SOURCE_HIDDEN;
  pw__python_module(file, python.code.path, module, sizeof(module));
  /* PyCode_Addr2Line only reads the immutable line table. */
  int line = python.addr_to_line(code, offset);
  pw__source_frame frame = {"python", function, file, line < 0 ? 0 : line, module};
  return pw__source_frame_intern(&frame);
}

/* Each thread remembers the source frame of the code positions it saw
 * last; the name, file and line table objects tell a code object from a
 * later one at the same address. */
static uintptr_t source_word(const _PyInterpreterFrame *frame) {
  PyCodeObject *code = frame->f_code;
  int offset = instruction_offset(frame);
  pw__source_key key = {{(uintptr_t)code, (uintptr_t)offset, (uintptr_t)code->co_qualname,
                         (uintptr_t)code->co_filename, (uintptr_t)code->co_linetable}};
  uintptr_t word = pw__source_cache_find(&key);
  if (word) return word;
  word = intern_position(code, offset);
  if (word) pw__source_cache_store(&key, word);
  return word;
}

/* ---- reading ---------------------------------------------------------- */

/* The thread's Python frames, innermost first, and where each run of
 * frames executed by one _PyEval_EvalFrameDefault call ends: Python 3.11
 * runs Python-to-Python calls inside one C frame, and marks the frame that
 * began each C-level call with is_entry. */
static const pw__interpreter_code *python_read(pw__source_stack *s) {
  _PyInterpreterFrame *frame = current_frame();
  if (!frame) return NULL;
  pw__source_stack_init(s, true);
  for (int guard = 0; frame && frame->f_code && guard < 4096; guard++) {
    /* A frame still copying its arguments in has no line yet; tracebacks
     * skip it too. */
    if (!_PyFrame_IsIncomplete(frame) && !pw__source_push(s, source_word(frame))) break;
    if (frame->is_entry) pw__source_end_run(s);
    frame = frame->previous;
  }
  return &python.code;
}

static const pw__source_walker walker = {"python", python_active, python_read};

/* Registration only stores a pointer; the interpreter is looked for on the
 * first capture, so loading poolwatch into a program costs nothing here. */
__attribute__((constructor)) static void register_python(void) {
  pw__source_walker_register(&walker);
}
