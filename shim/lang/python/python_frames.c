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
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/source_frames.h"
#include "lang/python/python_names.h"

/* The interpreter, found on the first capture with dlsym: Debian's
 * /usr/bin/python3 links libpython statically and exports its symbols, an
 * embedding program has libpython3.11.so. A process without Python pays one
 * failed lookup, once. */
typedef struct interpreter {
  PyThreadState *(*this_thread_state)(void);
  _PyRuntimeState *runtime;
  int (*addr_to_line)(PyCodeObject *, int);
  uintptr_t eval_begin, eval_end; /* _PyEval_EvalFrameDefault */
  uintptr_t text_begin, text_end; /* the interpreter's code */
  char path[PW__PYTHON_PATH_MAX];
} interpreter;

enum { UNKNOWN, LOOKING, FOUND, ABSENT };
static _Atomic int state = UNKNOWN;
static interpreter python;

/* The executable segment of the object that holds ADDRESS. */
typedef struct segment_search {
  uintptr_t address, begin, end;
} segment_search;

static int find_segment(struct dl_phdr_info *info, size_t size, void *arg) {
  segment_search *s = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t begin = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && s->address >= begin &&
        s->address < begin + ph->p_memsz) {
      s->begin = begin;
      s->end = begin + ph->p_memsz;
      return 1;
    }
  }
  return 0;
}

static bool resolve(interpreter *p) {
  const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
  void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
  /* The frame layout read below is 3.11's; other versions lay it out
   * differently, and their stacks keep the interpreter's native frames. */
  if (!version || !eval || (*version >> 16) != 0x030B) return false;
  p->this_thread_state = (PyThreadState * (*)(void)) dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
  p->runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
  p->addr_to_line = (int (*)(PyCodeObject *, int))dlsym(RTLD_DEFAULT, "PyCode_Addr2Line");
  Dl_info info;
  const ElfW(Sym) *symbol = NULL;
  struct link_map *map = NULL;
  if (!p->this_thread_state || !p->runtime || !p->addr_to_line ||
      !dladdr1(eval, &info, (void **)&symbol, RTLD_DL_SYMENT) || !symbol || !symbol->st_size ||
      !dladdr1(eval, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
    return false;
  p->eval_begin = (uintptr_t)eval;
  p->eval_end = p->eval_begin + symbol->st_size;
  segment_search s = {.address = p->eval_begin};
  if (!dl_iterate_phdr(find_segment, &s)) return false;
  p->text_begin = s.begin;
  p->text_end = s.end;
  pw__python_interpreter_path(map->l_name, p->path, sizeof(p->path));
  return true;
}

static bool interpreter_found(void) {
  int now = atomic_load_explicit(&state, memory_order_acquire);
  if (now == FOUND) return true;
  if (now != UNKNOWN) return false;
  int expected = UNKNOWN;
  /* The first capture looks; a capture in another thread meanwhile goes
   * without Python frames rather than wait. */
  if (!atomic_compare_exchange_strong(&state, &expected, LOOKING)) return false;
  bool found = resolve(&python);
  atomic_store_explicit(&state, found ? FOUND : ABSENT, memory_order_release);
  if (!found) pw__source_walker_disarm();
  return found;
}

/* The innermost Python frame of this thread, or NULL: no interpreter, a
 * thread Python never saw (a C thread started by an extension), start-up
 * before the interpreter's core exists, or finalization, after which the
 * interpreter frees other threads' states and code objects (atexit
 * handlers still run before it, so their frames are shown). The runtime's
 * flags are read directly: two loads instead of two calls, on every
 * capture. Code run by site and sitecustomize comes after the core is up. */
static _PyInterpreterFrame *current_frame(void) {
  if (!interpreter_found() || !python.runtime->core_initialized ||
      _PyRuntimeState_GetFinalizing(python.runtime))
    return NULL;
  PyThreadState *thread = python.this_thread_state();
  if (!thread || !thread->cframe) return NULL;
  return thread->cframe->current_frame;
}

static bool python_active(void) { return current_frame() != NULL; }

/* ---- one frame's source location, cached ------------------------------ */

/* Each thread remembers the source frame of the code positions it saw
 * last, so a capture from a known call site reads no strings. A code
 * object's address may be reused by another one after it is freed, so a
 * hit also compares the name, file and line table objects. */
#define CACHE_SLOTS 256

typedef struct cached_position {
  const PyCodeObject *code;
  const PyObject *name, *file, *lines;
  int offset;
  uintptr_t word;
} cached_position;

static __thread cached_position *cache __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* A destructor of another key may still capture in the exiting thread
 * (a pool closing its connections from thread-local storage): it must
 * find no freed cache. */
static void free_cache(void *slots) {
  free(slots);
  cache = NULL;
}

static void make_cache_key(void) { pthread_key_create(&cache_key, free_cache); }

static cached_position *thread_cache(void) {
  if (!cache) {
    pthread_once(&cache_once, make_cache_key);
    if ((cache = calloc(CACHE_SLOTS, sizeof(*cache)))) pthread_setspecific(cache_key, cache);
  }
  return cache;
}

/* The byte offset of the instruction FRAME is at, as PyFrame_GetLineNumber
 * computes it. */
static int instruction_offset(const _PyInterpreterFrame *frame) {
  return (int)(frame->prev_instr - _PyCode_CODE(frame->f_code)) * (int)sizeof(_Py_CODEUNIT);
}

/* A frame left out of the stack (never a stack word: those have the tag
 * bit set). */
#define HIDDEN ((uintptr_t)1)

static uintptr_t intern_position(PyCodeObject *code, int offset) {
  char function[256], file[PW__PYTHON_PATH_MAX], module[PW__PYTHON_PATH_MAX];
  pw__python_string(code->co_qualname, function, sizeof(function));
  pw__python_string(code->co_filename, file, sizeof(file));
  /* The import system's own frames, as Python's tracebacks leave them out:
   * a connection opened while a module (or sitecustomize) is imported
   * would otherwise show a dozen importlib frames. */
  if (strncmp(file, "<frozen importlib._bootstrap", 28) == 0) return HIDDEN;
  pw__python_module(file, python.path, module, sizeof(module));
  /* PyCode_Addr2Line only reads the immutable line table. */
  int line = python.addr_to_line(code, offset);
  pw__source_frame frame = {"python", function, file, line < 0 ? 0 : line, module};
  return pw__source_frame_intern(&frame);
}

static uintptr_t source_word(const _PyInterpreterFrame *frame) {
  PyCodeObject *code = frame->f_code;
  int offset = instruction_offset(frame);
  cached_position *slots = thread_cache();
  uint64_t h = ((uintptr_t)code ^ ((uint64_t)offset << 17)) * 0x9E3779B97F4A7C15ull;
  cached_position *c = slots ? &slots[(h >> 40) % CACHE_SLOTS] : NULL;
  if (c && c->code == code && c->offset == offset && c->name == code->co_qualname &&
      c->file == code->co_filename && c->lines == code->co_linetable)
    return c->word;
  uintptr_t word = intern_position(code, offset);
  if (c && word)
    *c = (cached_position){code, code->co_qualname, code->co_filename, code->co_linetable, offset,
                           word};
  return word;
}

/* ---- merging ---------------------------------------------------------- */

#define MAX_PYTHON_FRAMES 128

/* The thread's Python frames, innermost first, and where each run of
 * frames executed by one _PyEval_EvalFrameDefault call ends: Python 3.11
 * runs Python-to-Python calls inside one C frame, and marks the frame that
 * began each C-level call with is_entry. */
typedef struct python_stack {
  uintptr_t words[MAX_PYTHON_FRAMES];
  int count;
  int run_end[MAX_PYTHON_FRAMES];
  int runs;
} python_stack;

static void read_python_stack(_PyInterpreterFrame *frame, python_stack *s) {
  s->count = s->runs = 0;
  for (int guard = 0; frame && frame->f_code && s->count < MAX_PYTHON_FRAMES && guard < 4096;
       guard++) {
    /* A frame still copying its arguments in has no line yet; tracebacks
     * skip it too. */
    if (!_PyFrame_IsIncomplete(frame)) {
      uintptr_t word = source_word(frame);
      if (word && word != HIDDEN) s->words[s->count++] = word;
    }
    if (frame->is_entry && s->runs < MAX_PYTHON_FRAMES) s->run_end[s->runs++] = s->count;
    frame = frame->previous;
  }
}

static int python_merge(const uintptr_t *native, int n, uintptr_t *out, int cap) {
  _PyInterpreterFrame *frame = current_frame();
  if (!frame) return -1;
  python_stack py;
  read_python_stack(frame, &py);
  int written = 0, next = 0, run = 0;
  for (int i = 0; i < n && written < cap; i++) {
    uintptr_t pc = native[i] - 1; /* inside the call */
    if (pc >= python.eval_begin && pc < python.eval_end) {
      int end = run < py.runs ? py.run_end[run++] : next;
      while (next < end && written < cap) out[written++] = py.words[next++];
      continue;
    }
    /* The interpreter's own frames (calls, vectorcall, main) say nothing
     * a Python programmer can act on once its Python frames are shown. */
    if (pc >= python.text_begin && pc < python.text_end) continue;
    out[written++] = native[i];
  }
  /* The native unwind stops at the configured depth; the Python callers
   * beyond it are still worth showing, outermost last. */
  while (next < py.count && written < cap) out[written++] = py.words[next++];
  return written;
}

static const pw__source_walker walker = {"python", python_active, python_merge};

/* Registration only stores a pointer; the interpreter is looked for on the
 * first capture, so loading poolwatch into a program costs nothing here. */
__attribute__((constructor)) static void register_python(void) {
  pw__source_walker_register(&walker);
}
