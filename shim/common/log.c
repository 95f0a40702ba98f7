/* Messages to stderr, once per condition where asked, and the one write loop. */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/always_touched.h"
#include "common/buf.h"
#include "common/spinlock.h"

static bool stderr_closed_at_load PW__ALWAYS_TOUCHED;

PW__RUN_AT_LOAD void pw__stderr_note_at_load(void) {
  stderr_closed_at_load = fcntl(STDERR_FILENO, F_GETFD) < 0 && errno == EBADF;
}

/* Writing to a pipe or socket nobody reads raises SIGPIPE, which killed
 * the host (status 141, its buffered stdout lost) when the exit report or
 * the event log went to a closed pipe on stderr. The signal is blocked in
 * this thread around the write; one it raised is consumed before the mask
 * is restored, one already pending for the program is left alone. */
bool pw__write_all(int fd, const char *data, size_t len) {
  int saved = errno;
  /* fd 2 was closed when the program started: whatever file sits there
   * now is the program's, never a place for poolwatch's text. */
  if (fd == STDERR_FILENO && stderr_closed_at_load) return true;
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigemptyset(&pending);
  bool masked = pthread_sigmask(SIG_BLOCK, &pipe_only, &old) == 0;
  bool was_pending = masked && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
  bool broken = false;
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) broken = true;
    if (n <= 0) break;
    data += n;
    len -= (size_t)n;
  }
  if (masked) {
    if (broken && !was_pending) {
      const struct timespec zero = {0, 0};
      int keep = errno;
      while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {
      }
      errno = keep;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  if (len) saved = errno; /* the caller may ask why */
  errno = saved;
  return len == 0;
}

static void vsay(const char *prefix, const char *fmt, va_list ap) {
  char message[1024], line[1200];
  if (vsnprintf(message, sizeof(message), fmt, ap) < 0) return;
  int n = snprintf(line, sizeof(line), "poolwatch: %s", prefix);
  if (n < 0) return;
  /* A pool name or a path from the environment holding a newline or an
   * escape code once forged lines on the user's terminal. */
  pw__text_escape(message, line + n, sizeof(line) - (size_t)n - 1);
  size_t len = strlen(line);
  line[len++] = '\n';
  pw__write_all(STDERR_FILENO, line, len);
}

void pw__say(const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  vsay("", fmt, ap);
  va_end(ap);
  errno = saved;
}

/* Keys already warned about. Warnings are rare, so a short list suffices;
 * once it is full, further distinct warnings are still printed. */
#define MAX_WARNED 64
static const char *warned[MAX_WARNED];
static int warned_count;
static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;

void pw__warn_once(const char *key, const char *fmt, ...) {
  int saved = errno;
  /* A warning from the exit report must not wait for ever on a thread
   * that a signal handler interrupted here: past the patience, the
   * warning is printed, perhaps once more than asked. */
  bool locked = pw__mutex_lock_bounded(&warned_lock);
  for (int i = 0; locked && i < warned_count; i++) {
    if (strcmp(warned[i], key) == 0) {
      pthread_mutex_unlock(&warned_lock);
      errno = saved;
      return;
    }
  }
  if (locked) {
    if (warned_count < MAX_WARNED) warned[warned_count++] = key;
    pthread_mutex_unlock(&warned_lock);
  }
  va_list ap;
  va_start(ap, fmt);
  vsay("warning: ", fmt, ap);
  va_end(ap);
  errno = saved;
}
