/* Loads libunwind with dlopen on the first capture (unwind_loader.h). */
#include "core/unwind_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "common/log.h"

static pw__libunwind table;
static const pw__libunwind *loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A name from libunwind.h's macros, as a string: unw_step expands to
 * _ULx86_64_step, which is what the library exports. */
#define PW__EXPANDED(name) PW__STRING(name)
#define PW__STRING(name) #name

/* libunwind opens a pipe of its own (to check addresses) when it first
 * unwinds. In a daemon that had closed fds 0-2 the pipe took 1 and 2, so
 * the log file it opened next no longer became its stdout. Any of 0-2
 * closed is held on /dev/null while libunwind opens its pipe, then closed
 * again. Returns a mask of the descriptors held. */
static unsigned hold_standard_fds(void) {
  unsigned held = 0;
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    int got = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (got == fd)
      held |= 1u << fd;
    else if (got >= 0)
      close(got);
  }
  return held;
}

static void release_standard_fds(unsigned held) {
  for (int fd = 0; fd < 3; fd++)
    if (held & (1u << fd)) close(fd);
}

static void load_held(void);

static void load(void) {
  int saved = errno;
  unsigned held = hold_standard_fds();
  load_held();
  release_standard_fds(held);
  errno = saved;
}

static void load_held(void) {
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
  /* The first unwind is where libunwind opens its pipe: done here, while
   * the standard descriptors are held. */
  unw_context_t context;
  unw_cursor_t cursor;
  if (table.getcontext(&context) == 0) table.init_local(&cursor, &context);
  loaded = &table;
}

const pw__libunwind *pw__libunwind_load(void) {
  pthread_once(&once, load);
  return loaded;
}
