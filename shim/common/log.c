/* Messages to stderr, once per condition where asked, and the one write loop. */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

bool pw__write_all(int fd, const char *data, size_t len) {
  int saved = errno;
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    len -= (size_t)n;
  }
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
  pthread_mutex_lock(&warned_lock);
  for (int i = 0; i < warned_count; i++) {
    if (strcmp(warned[i], key) == 0) {
      pthread_mutex_unlock(&warned_lock);
      errno = saved;
      return;
    }
  }
  if (warned_count < MAX_WARNED) warned[warned_count++] = key;
  pthread_mutex_unlock(&warned_lock);
  va_list ap;
  va_start(ap, fmt);
  vsay("warning: ", fmt, ap);
  va_end(ap);
  errno = saved;
}
