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
#include "common/paths.h"
#include "core/config.h"
#include "core/detectors.h"
#include "core/registry.h"
#include "export/alerts.h"
#include "export/live.h"
#include "export/prometheus.h"

static _Atomic bool running, stopping;
/* Set while a tick runs, so the exit path can wait for a write in flight
 * before it removes the exported files. */
static _Atomic bool ticking;
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
  pw__held_too_long_record(found, n);
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
    pw__write_file_as(dir, base, text.data, text.len, true, 0644);
  pw__buf_free(&text);
}

static void write_live(void) {
  pw__buf json;
  pw__buf_init(&json);
  pw__live_format(&json);
  char name[64], why[256];
  snprintf(name, sizeof(name), PW__LIVE_FILE, (int)getpid());
  if (!json.failed && !atomic_load(&stopping)) {
    /* Opened each tick, never kept: a daemon that closes every descriptor
     * it did not open must not find one of poolwatch's. */
    int dirfd = pw__live_dir_open(geteuid(), true, why, sizeof(why));
    if (dirfd < 0) {
      pw__warn_once("POOLWATCH_LIVE", "%s; no live state for poolwatch top", why);
    } else {
      char dir[128];
      pw__live_dir_path(geteuid(), dir, sizeof(dir));
      pw__write_file_at(dirfd, dir, name, json.data, json.len, true, 0600);
      close(dirfd);
    }
  }
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
    atomic_store(&ticking, true);
    if (pw__registry_used() && !atomic_load(&stopping)) {
      if (pw__config.leak_threshold > 0) check_threshold();
      if (pw__config.growth_window > 0) check_growth();
      if (pw__config.prometheus) write_prometheus();
      if (pw__config.live) write_live();
    }
    atomic_store(&ticking, false);
    nanosleep(&pause, NULL);
  }
  return NULL;
}

/* No tick starts from here on, and one in flight is waited for. The wait
 * is bounded: the monitor may itself wait out a lock that a thread
 * interrupted by the exiting signal handler still holds. */
static void quiesce(void) {
  atomic_store(&stopping, true);
  const struct timespec step = {0, 1000000};
  for (int i = 0; i < 1000 && atomic_load(&ticking); i++) nanosleep(&step, NULL);
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
    /* The report runs after every library's destructor; the thread must
     * not. A tick symbolizes, writes and formats with libraries (libdw,
     * and through it libcurl and OpenSSL) whose destructors tear their
     * state down. Registered now, after main began, so exit runs it before
     * the libraries' destructors. Once: a forked child inherits it. */
    static bool quiesce_registered;
    if (!quiesce_registered) quiesce_registered = atexit(quiesce) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pthread_mutex_unlock(&start_lock);
  errno = saved;
}

void pw__monitor_stop(void) {
  /* A tick in flight could write a file again after it is removed. */
  quiesce();
  if (pw__config.live) {
    char why[256], name[64];
    int dirfd = pw__live_dir_open(geteuid(), false, why, sizeof(why));
    snprintf(name, sizeof(name), PW__LIVE_FILE, (int)getpid());
    if (dirfd >= 0) {
      unlinkat(dirfd, name, 0);
      close(dirfd);
    }
  }
  /* The process's series go with it: left behind, they showed a dead
   * process's last values as current until the file was rewritten. */
  if (pw__config.prometheus) unlink(pw__config.prometheus);
}

void pw__monitor_forget(void) {
  pthread_mutex_init(&start_lock, NULL);
  atomic_store(&running, false);
  pw__detect_growth_forget();
}
