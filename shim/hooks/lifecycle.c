#include "hooks/lifecycle.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/dashboard.h"
#include "export/event_log.h"
#include "export/monitor.h"
#include "common/log.h"
#include "common/output.h"
#include "core/pool.h"
#include "core/registry.h"
#include "report/report.h"
#include "hooks/resolve.h"
#include "report/suppress.h"

pw__options pw__config = {.exitcode = -1, .pool_size = -1, .stack_depth = 32, .interval = 5.0};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static double started_at;
/* This process image's pid, to tell a vfork child (which shares the
 * parent's memory and must not write its report) from the process. */
static pid_t image_pid;
/* Once per process image: the exit report, or the exec report that stands
 * in for it. */
static _Atomic bool reported;
/* The files' common stem, poolwatch-PID, claimed by this process image.
 * The image that follows an exec keeps the PID: it finds the name taken
 * and writes poolwatch-PID.2, and so on, so no image writes over
 * another's report. */
static char stem[64];

static void read_configuration(void) {
  int saved = errno;
  pw__options_load(&pw__config, secure_getenv);
  pw__pool_set_libpq_size(pw__config.pool_size);
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
  atomic_store(&pw__ready, false); /* the child starts its own monitor */
  atomic_store(&reported, false);
  stem[0] = '\0';
  image_pid = getpid();
  started_at = (double)pw__wall_ns() / 1e9;
}

__attribute__((constructor)) static void on_load(void) {
  int saved = errno;
  started_at = (double)pw__wall_ns() / 1e9;
  image_pid = getpid();
  uintptr_t begin, end;
  if (pw__text_range((const void *)&on_load, &begin, &end)) pw__stack_set_own_range(begin, end);
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  errno = saved;
}

/* ---- the final report: at exit, or at exec ------------------------------ */


static bool write_report_file(const char *dir, const pw__report *r, const pw__buf *json) {
  char name[96];
  if (stem[0]) { /* claimed before an exec that then failed: rewrite it */
    snprintf(name, sizeof(name), "%s.json", stem);
    return pw__write_file(dir, name, json->data, json->len);
  }
  for (int image = 1; image < 1000; image++) {
    char candidate[64];
    if (image == 1)
      snprintf(candidate, sizeof(candidate), "poolwatch-%d", r->pid);
    else
      snprintf(candidate, sizeof(candidate), "poolwatch-%d.%d", r->pid, image);
    snprintf(name, sizeof(name), "%s.json", candidate);
    int written = pw__write_file_as(dir, name, json->data, json->len, false);
    if (written < 0) return false;
    if (written == 1) {
      snprintf(stem, sizeof(stem), "%s", candidate);
      return true;
    }
  }
  return false;
}

static void write_files(const pw__report *r, const pw__buf *text, const pw__buf *json) {
  const char *dir = pw__config.output_dir;
  if (!write_report_file(dir, r, json)) return;
  char name[96];
  snprintf(name, sizeof(name), "%s.txt", stem);
  pw__write_file(dir, name, text->data, text->len);

  const char *names[64];
  size_t n = 0;
  for (size_t i = 0; i < r->pool_count && n < 64; i++) names[n++] = r->pools[i].pool->name;
  pw__buf dashboard;
  pw__buf_init(&dashboard);
  pw__dashboard_simple(&dashboard, names, n);
  snprintf(name, sizeof(name), "%s.dashboard.json", stem);
  if (!dashboard.failed) pw__write_file(dir, name, dashboard.data, dashboard.len);
  pw__buf_free(&dashboard);
}


bool pw__report_final(const char *reason) {
  if (!pw__registry_used()) return false; /* never used libpq: stay silent */
  if (atomic_exchange(&reported, true)) return false;
  int saved = errno;
  pw__init();
  pw__monitor_stop();
  pw__suppressions *suppressions =
      pw__config.suppressions ? pw__suppressions_load(pw__config.suppressions) : NULL;
  pw__report r;
  if (!pw__report_build(&r, suppressions, started_at)) {
    pw__warn_once("report-memory", "out of memory; no report written");
    pw__suppressions_free(suppressions);
    errno = saved;
    return false;
  }
  r.reason = reason;
  pw__buf text, json;
  pw__buf_init(&text);
  pw__buf_init(&json);
  pw__report_text(&r, &text);
  pw__report_json(&r, &json);
  if (!pw__config.quiet && !text.failed) pw__write_all(STDERR_FILENO, text.data, text.len);
  if (pw__config.output_dir && !json.failed && !text.failed) write_files(&r, &text, &json);
  bool leaks = r.leaked_connections + r.leaked_checkouts > 0;
  pw__buf_free(&text);
  pw__buf_free(&json);
  pw__report_free(&r);
  pw__suppressions_free(suppressions);
  errno = saved;
  return leaks;
}

void pw__report_final_undone(void) {
  atomic_store(&reported, false);
  /* The monitor stopped for the report; the next event starts it again. */
  atomic_store(&pw__ready, false);
}

pid_t pw__image_pid(void) { return image_pid; }

/* Destructors of a preloaded library run from exit() after the program's
 * atexit handlers and its own destructors, so pools the program tears
 * down at exit are closed by the time this looks. */
__attribute__((destructor)) static void on_exit_report(void) {
  bool leaks = pw__report_final("exit");
  if (leaks && pw__config.exitcode >= 0) {
    /* The program's buffered output must not be lost to _exit. */
    fflush(NULL);
    _exit((int)pw__config.exitcode);
  }
}

/* ---- per-thread state ---------------------------------------------------- */

#include "hooks/guard.h"
__thread pw__thread_state pw__thread __attribute__((tls_model("initial-exec")));
