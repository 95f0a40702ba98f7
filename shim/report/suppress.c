/* Suppression files: which leak stacks not to count. */
#include "report/suppress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"

struct pw__suppressions {
  size_t count;
  char **patterns;
};

/* PATTERN matches anywhere in TEXT, '*' standing for any run. Greedy
 * matching with one backtrack point, the last star: once the segment after
 * a star has matched, a later failure never needs an earlier star to move,
 * so the work is at most |PATTERN| × |TEXT| steps. The recursive matcher
 * this replaces was exponential: a seven-star pattern once delayed a
 * program's exit by 45 s. */
bool pw__pattern_match(const char *pattern, const char *text) {
  if (!pattern || !text) return false;
  /* Matching anywhere is matching "*PATTERN*". */
  const char *p = pattern, *t = text;
  const char *star = pattern, *resume = t; /* an implicit leading star */
  for (;;) {
    if (*p == '*') {
      while (*p == '*') p++;
      if (!*p) return true;
      star = p;
      resume = t;
      continue;
    }
    if (!*p) return true; /* an implicit trailing star */
    if (*t && *t == *p) {
      p++;
      t++;
      continue;
    }
    if (!*resume) return false;
    p = star;
    t = ++resume;
  }
}

pw__suppressions *pw__suppressions_parse(const char *text, const char *origin) {
  pw__suppressions *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  int lineno = 0;
  for (const char *line = text; line && *line;) {
    lineno++;
    size_t len = strcspn(line, "\n");
    char rule[1024];
    size_t n = len < sizeof(rule) - 1 ? len : sizeof(rule) - 1;
    memcpy(rule, line, n);
    rule[n] = '\0';
    line += len + (line[len] == '\n');
    char *hash = strchr(rule, '#');
    if (hash) *hash = '\0';
    char *start = rule;
    while (*start == ' ' || *start == '\t') start++;
    char *end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = '\0';
    if (!*start) continue;
    if (strncmp(start, "leak:", 5) != 0 || !start[5]) {
      pw__warn_once("suppressions-syntax", "%s:%d: '%s' is not a leak:PATTERN rule; ignored",
                    origin, lineno, start);
      continue;
    }
    char **grown = realloc(s->patterns, (s->count + 1) * sizeof(*grown));
    char *copy = strdup(start + 5);
    if (!grown || !copy) {
      free(copy);
      if (grown) s->patterns = grown;
      break;
    }
    s->patterns = grown;
    s->patterns[s->count++] = copy;
  }
  return s;
}

/* Far more than any real list of rules; /dev/zero must not be read for
 * ever at exit. */
#define MAX_SUPPRESSIONS_BYTES (1 << 20)

pw__suppressions *pw__suppressions_load(const char *path) {
  /* O_NONBLOCK: opening a FIFO with no writer must not block the exit;
   * the file is then refused unless it is a regular file. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  const char *why = NULL;
  if (fd < 0)
    why = strerror(errno);
  else if (fstat(fd, &st) != 0)
    why = strerror(errno);
  else if (S_ISDIR(st.st_mode))
    why = "a directory";
  else if (!S_ISREG(st.st_mode))
    why = "not a regular file";
  else if (st.st_size > MAX_SUPPRESSIONS_BYTES)
    why = "larger than 1 MB";
  if (why) {
    pw__warn_once("POOLWATCH_SUPPRESSIONS",
                  "POOLWATCH_SUPPRESSIONS='%s' cannot be read (%s); using no suppressions", path,
                  why);
    if (fd >= 0) close(fd);
    return NULL;
  }
  pw__buf text;
  pw__buf_init(&text);
  char chunk[4096];
  ssize_t n;
  while (text.len < MAX_SUPPRESSIONS_BYTES && (n = read(fd, chunk, sizeof(chunk))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    pw__buf_append(&text, chunk, (size_t)n);
  }
  close(fd);
  pw__suppressions *s = pw__suppressions_parse(text.data ? text.data : "", path);
  pw__buf_free(&text);
  return s;
}

bool pw__suppressions_match(const pw__suppressions *s, const pw__frame *frames, size_t n) {
  if (!s) return false;
  for (size_t r = 0; r < s->count; r++)
    for (size_t i = 0; i < n; i++)
      if (pw__pattern_match(s->patterns[r], frames[i].function) ||
          pw__pattern_match(s->patterns[r], frames[i].file) ||
          pw__pattern_match(s->patterns[r], frames[i].module))
        return true;
  return false;
}

void pw__suppressions_free(pw__suppressions *s) {
  if (!s) return;
  for (size_t i = 0; i < s->count; i++) free(s->patterns[i]);
  free(s->patterns);
  free(s);
}
