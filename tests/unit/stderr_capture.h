/* Captures what poolwatch writes to file descriptor 2. Its messages are
 * written with write(2) straight to the descriptor, not through stdio, so
 * the descriptor itself is pointed at a temporary file for the duration. */
#ifndef POOLWATCH_STDERR_CAPTURE_H
#define POOLWATCH_STDERR_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct stderr_capture {
  int saved_fd;
  FILE *file;
} stderr_capture;

static inline void stderr_capture_begin(stderr_capture *c) {
  fflush(stderr);
  c->file = tmpfile();
  c->saved_fd = dup(STDERR_FILENO);
  if (c->file) dup2(fileno(c->file), STDERR_FILENO);
}

/* Restores fd 2 and returns what was written (malloc'd, never NULL). */
static inline char *stderr_capture_end(stderr_capture *c) {
  fflush(stderr);
  dup2(c->saved_fd, STDERR_FILENO);
  close(c->saved_fd);
  char *text = calloc(1, 1);
  if (!c->file) return text;
  long size = lseek(fileno(c->file), 0, SEEK_END);
  char *grown;
  if (text && size > 0 && (grown = realloc(text, (size_t)size + 1))) {
    text = grown;
    ssize_t n = pread(fileno(c->file), text, (size_t)size, 0);
    text[n > 0 ? n : 0] = '\0';
  }
  fclose(c->file);
  return text;
}

/* Number of lines of TEXT that contain NEEDLE ("" counts every line). */
static inline int count_lines_with(const char *text, const char *needle) {
  int count = 0;
  for (const char *line = text; *line;) {
    size_t len = strcspn(line, "\n");
    char saved[1024];
    size_t n = len < sizeof(saved) - 1 ? len : sizeof(saved) - 1;
    memcpy(saved, line, n);
    saved[n] = '\0';
    if (strstr(saved, needle)) count++;
    line += len + (line[len] == '\n');
  }
  return count;
}

#endif
