/* Start-up, fork and exit of the preloaded library, and its per-thread state. */
#include "hooks/lifecycle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/always_touched.h"
#include "common/at_fork.h"
#include "common/clock.h"
#include "common/log.h"
#include "core/pool.h"
#include "core/registry.h"
#include "export/event_log.h"
#include "export/monitor.h"
#include "hooks/guard.h"
#include "hooks/resolve.h"
#include "report/at_exit.h"

__thread pw__thread_state pw__thread __attribute__((tls_model("initial-exec")));

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* This process image's pid, to tell a vfork child (which shares the
 * parent's memory and must not write its report) from the process. Taken
 * when poolwatch is first used (no vfork child ever uses it: it may only
 * exec or _exit) and in a forked child; 0 until then, when there is
 * nothing to report. */
static pid_t image_pid PW__ALWAYS_TOUCHED;

/* Called, never passed by address: taking a libc function's address binds
 * it when the library is loaded, a lookup in libc's symbol tables (and
 * their page faults) that every process would pay; a call is bound when
 * first made. */
static char *environment(const char *name) { return secure_getenv(name); }

static void read_configuration(void) {
  int saved = errno;
  /* poolwatch's own code, left out of captured stacks. Found here rather
   * than at load: every capture comes after pw__init, and a process that
   * never uses libpq skips the walk over the loaded objects. */
  uintptr_t begin, end;
  if (pw__text_range((const void *)&pw__init_slow, &begin, &end))
    pw__stack_set_own_range(begin, end);
  image_pid = getpid();
  pw__config_load(environment);
  pw__event_log_start();
  errno = saved;
}

_Atomic bool pw__ready;

void pw__init_slow(void) {
  pthread_once(&init_once, read_configuration);
  pw__monitor_ensure();
  atomic_store_explicit(&pw__ready, true, memory_order_release);
}

/* ---- fork --------------------------------------------------------------- */

static void before_fork(void) {
  pw__stack_atfork_prepare();
  pw__registry_atfork_prepare();
}

static void after_fork_parent(void) {
  pw__registry_atfork_parent();
  pw__stack_atfork_parent();
}

static void after_fork_child(void) {
  pw__clock_atfork_child();
  pw__registry_atfork_child();
  pw__stack_atfork_child();
  pw__pool_reset_all();
  pw__monitor_forget();
  pw__report_final_new_process();
  atomic_store(&pw__ready, false); /* the child starts its own monitor */
  pw__process_forget_start();
  image_pid = getpid();
}

static void report_at_exit(void *unused);
static bool report_registered PW__ALWAYS_TOUCHED;

/* Not in glibc's headers; atexit() itself would tie the handler to this
 * library (its __dso_handle), and the library's own destructor would run
 * it through __cxa_finalize, before other libraries' destructors. */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle);

__attribute__((constructor)) static void on_load(void) {
  int saved = errno;
  pw__stderr_note_at_load();
  /* A preloaded library's constructor runs before __libc_start_main
   * registers the loader's _dl_fini with __cxa_atexit, and exit() runs its
   * handlers last-registered first: this one runs after the program's
   * atexit handlers, its destructors and every library's destructors. */
  report_registered = __cxa_atexit(report_at_exit, NULL, NULL) == 0;
  pw__at_fork(before_fork, after_fork_parent, after_fork_child);
  errno = saved;
}

/* ---- exit --------------------------------------------------------------- */

bool pw__report_before_exec(void) {
  /* Never used (a shell under `poolwatch run`), or a vfork child. */
  if (!image_pid || getpid() != image_pid) return false;
  pw__init();
  pw__monitor_stop();
  pw__report_final("exec");
  return true;
}

void pw__report_exec_failed(void) {
  pw__report_final_forget();
  /* The monitor stopped for the report; the next event starts it again. */
  atomic_store(&pw__ready, false);
}

/* The final report, from exit() after everything else that exit() runs: a
 * connection a library's destructor closes is not a leak, and the exit
 * code POOLWATCH_EXITCODE asks for skips nothing of the program's (an
 * _exit() from this library's destructor once skipped the destructors of
 * the program's own libraries, and their at-exit writes were lost). */
static void report_at_exit(void *unused) {
  (void)unused;
  if (!pw__registry_used()) return; /* never used libpq: stay silent */
  if (getpid() != image_pid) return; /* a vfork child calling exit() */
  pw__init();
  pw__monitor_stop();
  bool leaks = pw__report_final("exit");
  if (leaks && pw__config.exitcode >= 0) {
    /* stdio is flushed by exit() only after the handlers: the program's
     * buffered output must not be lost to _exit. */
    fflush(NULL);
    _exit((int)pw__config.exitcode);
  }
}

/* The library's DT_FINI (see shim/CMakeLists.txt): nothing to do, in a page
 * that exit has already touched. */
PW__RUN_AT_LOAD void pw__fini(void) {}

/* Only when the handler could not be registered (out of memory at load)
 * does the report run from here, as early as a destructor runs. */
__attribute__((destructor)) static void on_unload(void) {
  if (!report_registered) report_at_exit(NULL);
}
