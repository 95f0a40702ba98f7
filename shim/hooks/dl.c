/* dlopen, dlsym and dlclose, wrapped: callers that never go through symbol
 * interposition still reach poolwatch's libpq hooks.
 *
 * - A lookup by name (dlsym on a library's handle, as Python's ctypes does
 *   for psycopg 3, or Ruby's Fiddle, or any FFI) gets the libpq function
 *   itself. The wrapper hands back poolwatch's hook for that copy instead.
 * - An object loaded with RTLD_DEEPBIND (PHP loads its pgsql and pdo_pgsql
 *   extensions so) binds straight to the libpq in its own scope. Its
 *   calls are redirected when it is loaded (hooks/got.c).
 * - dlclose may unload a definition that hooks have cached.
 *
 * The loader looks at who called dlopen and dlsym: dlopen searches the
 * caller's RUNPATH, and dlsym(RTLD_NEXT) and dlsym(RTLD_DEFAULT) search
 * from the caller's place. So these wrappers leave every call they do not
 * need to see to the real function as a tail call (a jump, which keeps
 * the caller's return address), and this file is built with sibling-call
 * optimization forced on (see shim/CMakeLists.txt). */
#include "hooks/dl.h"

#include <dlfcn.h>
#include <stddef.h>

#include "hooks/got.h"
#include "hooks/lifecycle.h"
#include "hooks/libpq_copies.h"
#include "hooks/resolve.h"

/* The loader's functions are found by version: dlsym itself is wrapped,
 * and dlvsym is not. GLIBC_2.34 is where they moved into libc; older
 * systems have them in libdl at GLIBC_2.2.5. */
static void *loader_function(const char *name) {
  void *fn = dlvsym(RTLD_NEXT, name, "GLIBC_2.34");
  return fn ? fn : dlvsym(RTLD_NEXT, name, "GLIBC_2.2.5");
}

typedef void *dlopen_fn(const char *, int);
typedef void *dlsym_fn(void *, const char *);
typedef int dlclose_fn(void *);

static dlopen_fn *_Atomic real_dlopen;
static dlsym_fn *_Atomic real_dlsym;
static dlclose_fn *_Atomic real_dlclose;

#define LOADER(name)                                                         \
  static name##_fn *get_##name(void) {                                     \
    name##_fn *fn = atomic_load_explicit(&real_##name, memory_order_relaxed); \
    if (!fn) {                                                             \
      fn = (name##_fn *)loader_function(#name);                            \
      atomic_store_explicit(&real_##name, fn, memory_order_relaxed);        \
    }                                                                      \
    return fn;                                                             \
  }
LOADER(dlopen)
LOADER(dlsym)
LOADER(dlclose)

void *pw__real_dlopen(const char *file, int mode) { return get_dlopen()(file, mode); }
void *pw__real_dlsym(void *handle, const char *name) { return get_dlsym()(handle, name); }
int pw__real_dlclose(void *handle) { return get_dlclose()(handle); }

/* Only RTLD_DEEPBIND needs a look after loading; every other dlopen jumps
 * straight to the loader, so a bare name is still searched in the
 * caller's RUNPATH. A RTLD_DEEPBIND load is searched from poolwatch's
 * place instead (PHP passes full paths, where that makes no difference). */
PW__EXPORT void *dlopen(const char *file, int mode) {
  if (!(mode & RTLD_DEEPBIND)) return get_dlopen()(file, mode);
  void *handle = get_dlopen()(file, mode);
  if (handle) pw__got_redirect_deepbind(handle);
  return handle;
}

/* RTLD_NEXT and RTLD_DEFAULT depend on the caller's place: jump. Through
 * a real handle, the answer is the same whoever asks, so poolwatch can
 * look at it: a libpq connection function comes back as its hook. */
PW__EXPORT void *dlsym(void *handle, const char *name) {
  if (handle == RTLD_NEXT || handle == RTLD_DEFAULT) return get_dlsym()(handle, name);
  void *fn = get_dlsym()(handle, name);
  return fn && pw__libpq_is_hooked_name(name) ? pw__libpq_hook_for(fn, name) : fn;
}

PW__EXPORT int dlclose(void *handle) {
  int status = get_dlclose()(handle);
  atomic_fetch_add(&pw__unloads, 1);
  return status;
}
