/* PHP frames in captured stacks: the functions PHP 8.2's CLI runs, read
 * from executor_globals.current_execute_data (what debug_backtrace reads),
 * put where the execute_ex frames that ran them stood.
 *
 * Debian's PHP is built without thread safety: one interpreter, whose
 * globals are plain exported symbols, in the thread that runs the script.
 * Nothing here calls into PHP. */
#include <zend.h>
#include <zend_compile.h>
#include <zend_globals.h>

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/source_frames.h"
#include "core/source_walk.h"

/* The PHP binary, found on the first capture with dlsym. A process
 * without PHP pays one failed lookup, once. */
typedef struct php_binary {
  const zend_executor_globals *globals;
  pw__interpreter_code code; /* eval: execute_ex */
} php_binary;

static _Atomic int state = PW__INTERPRETER_UNKNOWN;
static php_binary php;

static bool find_php(void) {
  void *globals = dlsym(RTLD_DEFAULT, "executor_globals");
  void *eval = dlsym(RTLD_DEFAULT, "execute_ex");
  Dl_info info;
  const ElfW(Sym) *symbol = NULL;
  /* The executor's globals are read with the layout of the headers
   * poolwatch was built with: a PHP whose globals have another size
   * (another version, or a thread-safe build, which has no such symbol)
   * keeps its native frames. */
  if (!globals || !eval || !dladdr1(globals, &info, (void **)&symbol, RTLD_DL_SYMENT) ||
      !symbol || symbol->st_size != sizeof(zend_executor_globals))
    return false;
  php.globals = globals;
  return pw__interpreter_code_find(eval, true, &php.code);
}

/* The innermost PHP frame, or NULL: before the script runs and after it
 * ends (persistent connections are closed at module shutdown, with no
 * frame), and in a thread that is not PHP's. */
static zend_execute_data *current_frame(void) {
  if (!pw__interpreter_found(&state, find_php)) return NULL;
  return php.globals->current_execute_data;
}

static bool php_active(void) { return current_frame() != NULL; }

/* ---- one frame ---------------------------------------------------------- */

static const char *text(const zend_string *s) { return s ? ZSTR_VAL(s) : NULL; }

/* Packages: Composer's vendor directory, Debian's PEAR and PHP libraries;
 * anything else is the script's own, shown with the interpreter. */
static const char *const library_roots[] = {"/vendor/", "/usr/share/php/"};

/* The name debug_backtrace gives FUNC: Class::method, function, {closure},
 * or {main} for a file's top level. */
static void function_name(const zend_function *func, char *out, size_t size) {
  const char *name = text(func->common.function_name);
  const char *scope = func->common.scope ? text(func->common.scope->name) : NULL;
  if (!name)
    snprintf(out, size, "{main}");
  else if (scope)
    snprintf(out, size, "%s::%s", scope, name);
  else
    snprintf(out, size, "%s", name);
}

static uintptr_t intern_frame(const zend_function *func, const char *file, int line) {
  char function[256], module[PW__SOURCE_PATH_MAX];
  function_name(func, function, sizeof(function));
  pw__source_module(file, library_roots, sizeof(library_roots) / sizeof(library_roots[0]),
                    php.code.path, module, sizeof(module));
  pw__source_frame source = {"php", function, file, line, module};
  return pw__source_frame_intern(&source);
}

/* The file and line FRAME runs at: its own for PHP code, its caller's for
 * a function written in C (pg_connect), as in PHP's backtraces. */
static const zend_execute_data *user_frame(const zend_execute_data *frame) {
  for (int guard = 0; frame && guard < 4096; frame = frame->prev_execute_data, guard++)
    if (frame->func && ZEND_USER_CODE(frame->func->type)) return frame;
  return NULL;
}

static uintptr_t source_word(const zend_execute_data *frame) {
  const zend_function *func = frame->func;
  const zend_execute_data *at = user_frame(frame);
  const zend_op *op = at ? at->opline : NULL;
  const zend_string *file = at ? at->func->op_array.filename : NULL;
  int line = op ? (int)op->lineno : 0;
  pw__source_key key = {{(uintptr_t)func, (uintptr_t)op, (uintptr_t)file,
                         (uintptr_t)func->common.function_name, (uintptr_t)line}};
  uintptr_t word = pw__source_cache_find(&key);
  if (word) return word;
  word = intern_frame(func, file ? ZSTR_VAL(file) : "?", line);
  if (word) pw__source_cache_store(&key, word);
  return word;
}

/* ---- merging ------------------------------------------------------------ */

/* The frames, innermost first, and where each execute_ex call's frames
 * end: PHP runs calls between PHP functions inside one execute_ex, and
 * marks the frame each call began with ZEND_CALL_TOP (the script, or a
 * callback that a C function such as array_map called). A C function's
 * own frame runs inside its caller's execute_ex. */
static const pw__interpreter_code *php_read(pw__source_stack *s) {
  const zend_execute_data *frame = current_frame();
  if (!frame) return NULL;
  pw__source_stack_init(s, true);
  for (int guard = 0; frame && guard < 4096; frame = frame->prev_execute_data, guard++) {
    if (!frame->func) continue;
    if (!pw__source_push(s, source_word(frame))) break;
    if (ZEND_USER_CODE(frame->func->type) && (ZEND_CALL_INFO(frame) & ZEND_CALL_TOP))
      pw__source_end_run(s);
  }
  return &php.code;
}

static const pw__source_walker walker = {"php", php_active, php_read};

/* Registration only stores a pointer; PHP is looked for on the first
 * capture. */
__attribute__((constructor)) static void register_php(void) { pw__source_walker_register(&walker); }
