/* Loading elfutils' libdw with dlopen, only when a report is symbolized. */
#include "report/libdw_loader.h"

#include <dlfcn.h>
#include <pthread.h>

#include "common/log.h"

static pw__libdw table;
static const pw__libdw *loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  void *handle = dlopen("libdw.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!handle) {
    pw__warn_once("libdw", "libdw.so.1 is not installed; stacks show modules and offsets only");
    return;
  }
#define PW__LIBDW_RESOLVE(name)                              \
  if (!(table.name = (__typeof__(name) *)dlsym(handle, #name))) return;
  PW__LIBDW_FUNCTIONS(PW__LIBDW_RESOLVE)
#undef PW__LIBDW_RESOLVE
  loaded = &table;
}

const pw__libdw *pw__libdw_load(void) {
  pthread_once(&once, load);
  return loaded;
}
