/* Loads libunwind with dlopen on the first capture (unwind_loader.h). */
#include "core/unwind_loader.h"

#include <dlfcn.h>
#include <pthread.h>

#include "common/log.h"

static pw__libunwind table;
static const pw__libunwind *loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A name from libunwind.h's macros, as a string: unw_step expands to
 * _ULx86_64_step, which is what the library exports. */
#define PW__EXPANDED(name) PW__STRING(name)
#define PW__STRING(name) #name

static void load(void) {
  void *handle = dlopen(PW__LIBUNWIND_SONAME, RTLD_LAZY | RTLD_LOCAL);
  if (!handle) {
    pw__warn_once("libunwind", PW__LIBUNWIND_SONAME " is not installed; no stacks are captured");
    return;
  }
  table.getcontext = (__typeof__(table.getcontext))dlsym(handle, PW__EXPANDED(unw_tdep_getcontext));
  table.init_local = (__typeof__(table.init_local))dlsym(handle, PW__EXPANDED(unw_init_local));
  table.step = (__typeof__(table.step))dlsym(handle, PW__EXPANDED(unw_step));
  table.get_reg = (__typeof__(table.get_reg))dlsym(handle, PW__EXPANDED(unw_get_reg));
  table.is_signal_frame =
      (__typeof__(table.is_signal_frame))dlsym(handle, PW__EXPANDED(unw_is_signal_frame));
  table.backtrace = (__typeof__(table.backtrace))dlsym(handle, PW__EXPANDED(unw_backtrace));
  if (!table.getcontext || !table.init_local || !table.step || !table.get_reg ||
      !table.is_signal_frame || !table.backtrace) {
    pw__warn_once("libunwind", PW__LIBUNWIND_SONAME " lacks the functions poolwatch uses; "
                               "no stacks are captured");
    return;
  }
  loaded = &table;
}

const pw__libunwind *pw__libunwind_load(void) {
  pthread_once(&once, load);
  return loaded;
}
