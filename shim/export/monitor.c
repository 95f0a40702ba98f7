/* The monitor thread: when it starts, what it runs each tick, how it stops. */
#include "export/monitor.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/output.h"
#include "core/config.h"
#include "core/detectors.h"
#include "core/registry.h"
#include "export/alerts.h"
#include "export/live.h"
#include "export/prometheus.h"

static _Atomic bool running, stopping;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static bool wanted(void) {
  return pw__config.leak_threshold > 0 || pw__config.growth_window > 0 ||
         pw__config.prometheus || pw__config.live;
}

/* ---- detectors ---------------------------------------------------------- */

#define MAX_ALERTS 64

static void check_threshold(void) {
  pw__held_crossing found[MAX_ALERTS];
  size_t n = pw__detect_held_too_long(pw__config.leak_threshold, found, MAX_ALERTS);
  for (size_t i = 0; i < n && !pw__config.quiet; i++)
    pw__alert_held(&found[i], pw__config.leak_threshold);
}

static void check_growth(void) {
  pw__growth_alert found[MAX_ALERTS];
  size_t n = pw__detect_growth(pw__config.growth_window, found, MAX_ALERTS);
  for (size_t i = 0; i < n; i++) pw__alert_growth(&found[i]);
}

/* ---- exports ------------------------------------------------------------ */

static void split_path(const char *path, char *dir, size_t cap, const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, cap, ".");
    *base = path;
  } else {
    snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    if (!*dir) snprintf(dir, cap, "/");
    *base = slash + 1;
  }
}

static void write_prometheus(void) {
  pw__buf text;
  pw__buf_init(&text);
  pw__prometheus_format(&text);
  char dir[4096];
  const char *base;
  split_path(pw__config.prometheus, dir, sizeof(dir), &base);
  /* 0644: node_exporter reads it as its own user, and it holds no secret. */
  if (!text.failed && !atomic_load(&stopping))
    pw__write_file_mode(dir, base, text.data, text.len, 0644);
  pw__buf_free(&text);
}

static void write_live(void) {
  pw__buf json;
  pw__buf_init(&json);
  pw__live_format(&json);
  char name[64];
  snprintf(name, sizeof(name), PW__LIVE_FILE, (int)getpid());
  if (!json.failed && !atomic_load(&stopping)) pw__write_file(PW__LIVE_DIR, name, json.data, json.len);
  pw__buf_free(&json);
}

/* ---- the thread ----------------------------------------------------------- */

static double tick_seconds(void) {
  double tick = pw__config.interval;
  /* A threshold is checked four times per period, so a crossing is seen
   * within a quarter of it. */
  if (pw__config.leak_threshold > 0 && pw__config.leak_threshold / 4 < tick)
    tick = pw__config.leak_threshold / 4;
  if (pw__config.growth_window > 0 && pw__config.growth_window / 4 < tick)
    tick = pw__config.growth_window / 4;
  return tick < 0.01 ? 0.01 : tick;
}

static void *run(void *arg) {
  double tick = tick_seconds();
  struct timespec pause = {(time_t)tick, (long)((tick - (double)(time_t)tick) * 1e9)};
  while (!atomic_load(&stopping)) {
    if (pw__registry_used()) {
      if (pw__config.leak_threshold > 0) check_threshold();
      if (pw__config.growth_window > 0) check_growth();
      if (pw__config.prometheus) write_prometheus();
      if (pw__config.live) write_live();
    }
    nanosleep(&pause, NULL);
  }
  return NULL;
}

void pw__monitor_ensure(void) {
  if (atomic_load_explicit(&running, memory_order_relaxed) || !wanted()) return;
  int saved = errno;
  pthread_mutex_lock(&start_lock);
  if (!atomic_load(&running) && !atomic_load(&stopping)) {
    /* All signals blocked: the program's handlers must never run on
     * poolwatch's thread. Detached: it never keeps the process alive. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    /* One attempt per process: a failure is not retried on every event. */
    atomic_store(&running, true);
    if (pthread_create(&thread, &attr, run, NULL) != 0)
      pw__warn_once("monitor-thread", "cannot start the monitor thread; no live checks or exports");
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pthread_mutex_unlock(&start_lock);
  errno = saved;
}

void pw__monitor_stop(void) {
  atomic_store(&stopping, true);
  if (pw__config.live) {
    char path[128];
    snprintf(path, sizeof(path), "%s/" PW__LIVE_FILE, PW__LIVE_DIR, (int)getpid());
    unlink(path);
  }
}

void pw__monitor_forget(void) {
  pthread_mutex_init(&start_lock, NULL);
  atomic_store(&running, false);
  pw__detect_growth_forget();
}
