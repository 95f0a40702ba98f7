/* Files poolwatch writes: whole or not at all (a temporary file renamed
 * into place), mode 0600 unless said otherwise, close-on-exec, never through a planted link. */
#ifndef POOLWATCH_OUTPUT_H
#define POOLWATCH_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p DIR, each directory poolwatch makes being its own: mode 0700.
 * Returns whether DIR is a directory now (errno says why not). */
bool pw__output_dir_ready(const char *dir);
/* Writes LEN bytes of DATA to DIR/NAME atomically. On failure, warns once
 * and returns false; the program is never affected. */
bool pw__write_file(const char *dir, const char *name, const char *data, size_t len);
/* The same, choosing whether an existing DIR/NAME is replaced, and the
 * mode (0644 for files that hold no secret and another user must read,
 * such as the Prometheus textfile). Returns 1 when written, 0 when
 * REPLACE is false and NAME is taken, -1 on failure (warned about once). */
int pw__write_file_as(const char *dir, const char *name, const char *data, size_t len,
                      bool replace, mode_t mode);
/* The same inside the open directory DIRFD; DIR names it in warnings. */
int pw__write_file_at(int dirfd, const char *dir, const char *name, const char *data, size_t len,
                      bool replace, mode_t mode);

#endif
