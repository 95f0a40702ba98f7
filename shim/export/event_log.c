/* POOLWATCH_EVENT_LOG: one line per registry event. */
#include "export/event_log.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "core/config.h"
#include "common/log.h"
#include "common/format.h"
#include "export/alerts.h"
#include "core/source_frames.h"
#include "report/report.h"

static int log_fd = -1;

static void on_event(const pw__event *e) {
  if (log_fd >= 0) pw__event_line(e);
  /* With the log on stderr, its own line says it already. */
  if (!pw__config.quiet && log_fd != STDERR_FILENO) pw__alert_returned(e);
}

void pw__event_line(const pw__event *e) {
  int saved = errno;
  char when[40], line[512], pool[160], detail[320];
  pw__format_time((double)pw__wall_ns() / 1e9, when, sizeof(when));
  int n = snprintf(line, sizeof(line), "%s poolwatch[%d] thread=%d %s pool=%s", when,
                   (int)getpid(), (int)gettid(), e->what,
                   e->pool ? pw__text_escape(e->pool->name, pool, sizeof(pool)) : "-");
  if (n > 0 && e->id && (size_t)n < sizeof(line))
    n += snprintf(line + n, sizeof(line) - (size_t)n, " id=%p", e->id);
  if (n > 0 && e->seconds >= 0 && (size_t)n < sizeof(line))
    n += snprintf(line + n, sizeof(line) - (size_t)n, " seconds=%.6f", e->seconds);
  if (n > 0 && e->stack && e->stack->depth && (size_t)n < sizeof(line)) {
    /* The caller's symbol from the dynamic linker is cheap enough per
     * line; the full stack is in the exit report under the same id. */
    Dl_info info;
    const char *at = dladdr((void *)(e->stack->frames[0] - 1), &info) && info.dli_sname
                         ? info.dli_sname : "?";
    /* In a Python program, the innermost Python function says more than
     * the driver's C code above it. */
    for (uint16_t i = 0; i < e->stack->depth; i++) {
      const pw__source_frame *source = pw__source_frame_lookup(e->stack->frames[i]);
      if (source && source->function) {
        at = source->function;
        break;
      }
    }
    n += snprintf(line + n, sizeof(line) - (size_t)n, " stack=%u at=%s", e->stack->id, at);
  }
  if (n > 0 && e->detail && (size_t)n < sizeof(line))
    n += snprintf(line + n, sizeof(line) - (size_t)n, " %s",
                  pw__text_escape(e->detail, detail, sizeof(detail)));
  if (n > 0) {
    size_t len = (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
    line[len++] = '\n';
    pw__write_all(log_fd, line, len);
  }
  errno = saved;
}

/* Opens the event log: a regular file (made 0600 if it already existed
 * with a wider mode: its lines name the program's pools and call sites), a
 * FIFO with a reader, or a character device such as /dev/null. A FIFO
 * without a reader once blocked the program's first connect for ever:
 * O_NONBLOCK makes that open fail instead, and a full pipe drops lines
 * rather than stall the program. A directory is refused. */
static int open_log(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
                0600);
  struct stat st;
  const char *why = NULL;
  if (fd < 0 || fstat(fd, &st) != 0)
    why = errno == ENXIO ? "a FIFO nobody reads" : strerror(errno);
  else if (S_ISREG(st.st_mode)) {
    if ((st.st_mode & 077) && st.st_uid == geteuid()) fchmod(fd, st.st_mode & 0700);
    /* A regular file never blocks; appends stay whole lines. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  } else if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    why = "not a regular file, FIFO or character device";
  }
  if (!why && fd < 3) {
    /* fds 0-2 were closed at start: the program's next open expects one
     * of them, so the log moves out of the way. */
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    fd = moved;
    if (fd < 0) why = strerror(errno);
  }
  if (why) {
    pw__warn_once("POOLWATCH_EVENT_LOG",
                  "POOLWATCH_EVENT_LOG='%s' cannot be opened (%s); no event log", path, why);
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

void pw__event_log_start(void) {
  const char *path = pw__config.event_log;
  if (path) {
    if (strcmp(path, "stderr") == 0)
      log_fd = STDERR_FILENO;
    else
      log_fd = open_log(path);
  }
  /* Without a log or a threshold nobody listens: the hot path then skips
   * building events altogether. */
  if (log_fd >= 0 || pw__config.leak_threshold > 0) pw__registry_set_sink(on_event);
}
