/* Start-up, fork and exit of the preloaded library, and its per-thread state. */
#include "hooks/lifecycle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
 * parent's memory and must not write its report) from the process. */
static pid_t image_pid;

pid_t pw__image_pid(void) { return image_pid; }

static void read_configuration(void) {
  int saved = errno;
  pw__config_load(secure_getenv);
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
  pw__registry_atfork_child();
  pw__stack_atfork_child();
  pw__pool_reset_all();
  pw__monitor_forget();
  pw__report_final_new_process();
  atomic_store(&pw__ready, false); /* the child starts its own monitor */
  pw__process_mark_start();
  image_pid = getpid();
}

__attribute__((constructor)) static void on_load(void) {
  int saved = errno;
  pw__process_mark_start();
  image_pid = getpid();
  uintptr_t begin, end;
  if (pw__text_range((const void *)&on_load, &begin, &end)) pw__stack_set_own_range(begin, end);
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  errno = saved;
}

/* ---- exit --------------------------------------------------------------- */

bool pw__report_before_exec(void) {
  if (getpid() != image_pid) return false; /* a vfork child */
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

/* Destructors of a preloaded library run from exit() after the program's
 * atexit handlers and its own destructors, so pools the program tears
 * down at exit are closed by the time this looks. */
__attribute__((destructor)) static void on_exit_report(void) {
  if (!pw__registry_used()) return; /* never used libpq: stay silent */
  pw__init();
  pw__monitor_stop();
  bool leaks = pw__report_final("exit");
  if (leaks && pw__config.exitcode >= 0) {
    /* The program's buffered output must not be lost to _exit. */
    fflush(NULL);
    _exit((int)pw__config.exitcode);
  }
}
