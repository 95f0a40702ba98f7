/* Ruby frames in captured stacks: the methods and blocks MRI 3.1 runs in
 * the capturing thread, read with the interpreter's own profiling API
 * (rb_profile_frames, the one stackprof calls from signal handlers), put
 * where libruby's frames stood.
 *
 * Nothing here links libruby, allocates Ruby objects or needs the GVL:
 * ruby-pg releases the GVL while it connects, so the capturing thread
 * usually does not hold it. Reading its own frames is still safe: only
 * this thread pushes and pops them, and each frame keeps its iseq (and so
 * the iseq's label and path strings) alive. */
#include <ruby.h>
#include <ruby/debug.h>
#undef snprintf /* ruby.h maps it to libruby's */

#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>

#include "core/source_frames.h"
#include "core/source_walk.h"

/* libruby, found on the first capture with dlsym. A process without Ruby
 * pays one failed lookup, once. */
typedef struct interpreter {
  int (*profile_frames)(int start, int limit, VALUE *frames, int *lines);
  VALUE (*frame_path)(VALUE frame);
  VALUE (*frame_absolute_path)(VALUE frame);
  VALUE (*frame_label)(VALUE frame);
  int (*native_thread_p)(void);
  void *const *current_vm;
  pw__interpreter_code code;
} interpreter;

static _Atomic int state = PW__INTERPRETER_UNKNOWN;
static interpreter ruby;

static bool find_ruby(void) {
  interpreter *r = &ruby;
  const int *version = dlsym(RTLD_DEFAULT, "ruby_api_version");
  /* The strings are read with 3.1's object layout (RSTRING_PTR from its
   * headers); 3.2 changed it, so other versions keep libruby's frames. */
  if (!version || version[0] != 3 || version[1] != 1) return false;
  r->profile_frames = (int (*)(int, int, VALUE *, int *))dlsym(RTLD_DEFAULT, "rb_profile_frames");
  r->frame_path = (VALUE(*)(VALUE))dlsym(RTLD_DEFAULT, "rb_profile_frame_path");
  r->frame_absolute_path = (VALUE(*)(VALUE))dlsym(RTLD_DEFAULT, "rb_profile_frame_absolute_path");
  r->frame_label = (VALUE(*)(VALUE))dlsym(RTLD_DEFAULT, "rb_profile_frame_label");
  r->native_thread_p = (int (*)(void))dlsym(RTLD_DEFAULT, "ruby_native_thread_p");
  r->current_vm = dlsym(RTLD_DEFAULT, "ruby_current_vm_ptr");
  return r->profile_frames && r->frame_path && r->frame_absolute_path && r->frame_label &&
         r->native_thread_p && r->current_vm &&
         pw__interpreter_code_find((void *)r->profile_frames, false, &r->code);
}

/* Is this thread running Ruby? Not before the VM exists (start-up, or a
 * program that only links libruby), not in a thread Ruby never saw (a C
 * thread started by an extension), and not once the VM is gone: its
 * finalizers, which close what a program left open, run while it is
 * still there. */
static bool ruby_active(void) {
  return pw__interpreter_found(&state, find_ruby) && *ruby.current_vm && ruby.native_thread_p();
}

/* ---- one frame ---------------------------------------------------------- */

/* Copies the Ruby string TEXT into OUT, or "?" when it is not one. */
static void ruby_string(VALUE text, char *out, size_t size) {
  if (NIL_P(text) || RB_SPECIAL_CONST_P(text) || !RB_TYPE_P(text, T_STRING)) {
    snprintf(out, size, "?");
    return;
  }
  /* RSTRING_PTR would call into libruby for a NULL pointer; the layout
   * it reads is this one, which also gives the length. */
  struct RString memory = rbimpl_rstring_getmem(text);
  long length = memory.as.heap.len;
  size_t n = length < 0 || !memory.as.heap.ptr ? 0 : (size_t)length < size - 1 ? (size_t)length : size - 1;
  if (n) memcpy(out, memory.as.heap.ptr, n);
  out[n] = '\0';
}

/* Where gems and packaged libraries live: Debian's rubygems-integration
 * (gems/activerecord-6.1.7.10), vendor_ruby (pg), site_ruby. The standard
 * library is the interpreter's. */
static const char *const library_roots[] = {"/gems/", "/vendor_ruby/", "/site_ruby/"};

static uintptr_t intern_frame(VALUE frame, VALUE label, VALUE path, int line) {
  char function[256], file[PW__SOURCE_PATH_MAX], module[PW__SOURCE_PATH_MAX];
  ruby_string(label, function, sizeof(function));
  ruby_string(path, file, sizeof(file));
  pw__source_module(file, library_roots, sizeof(library_roots) / sizeof(library_roots[0]),
                    ruby.code.path, module, sizeof(module));
  pw__source_frame source = {"ruby", function, file, line, module};
  return pw__source_frame_intern(&source);
}

static uintptr_t source_word(VALUE frame, int line) {
  /* A method written in C (PG::Connection#connect_start) comes with line
   * 0, and so does the VM's dummy frame under <main>. Neither is asked for
   * its path: libruby would make a "<cfunc>" string for the first, an
   * allocation this thread may not do without the GVL. Backtraces show the
   * Ruby caller's line for a C method, and so does the next frame here. */
  if (line <= 0) return PW__SOURCE_HIDDEN;
  VALUE path = ruby.frame_absolute_path(frame);
  if (NIL_P(path)) path = ruby.frame_path(frame); /* code from eval */
  if (NIL_P(path)) return PW__SOURCE_HIDDEN;
  VALUE label = ruby.frame_label(frame);
  pw__source_key key = {{(uintptr_t)frame, (uintptr_t)line, (uintptr_t)label, (uintptr_t)path, 0}};
  uintptr_t word = pw__source_cache_find(&key);
  if (word) return word;
  word = intern_frame(frame, label, path, line);
  if (word) pw__source_cache_store(&key, word);
  return word;
}

/* ---- merging ------------------------------------------------------------ */

/* Ruby gives no sign of which native vm_exec call ran which frames, so
 * they all stand where the innermost libruby frame stood. */
static const pw__interpreter_code *ruby_read(pw__source_stack *rb) {
  if (!ruby_active()) return NULL;
  VALUE frames[PW__SOURCE_STACK_MAX];
  int lines[PW__SOURCE_STACK_MAX];
  int count = ruby.profile_frames(0, PW__SOURCE_STACK_MAX, frames, lines);
  pw__source_stack_init(rb, false);
  for (int i = 0; i < count; i++)
    if (!pw__source_push(rb, source_word(frames[i], lines[i]))) break;
  return &ruby.code;
}

static const pw__source_walker walker = {"ruby", ruby_active, ruby_read};

/* Registration only stores a pointer; libruby is looked for on the first
 * capture. */
__attribute__((constructor)) static void register_ruby(void) { pw__source_walker_register(&walker); }
