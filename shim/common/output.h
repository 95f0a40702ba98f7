/* Files poolwatch writes: whole or not at all (a temporary file renamed
 * into place), mode 0600 unless said otherwise, close-on-exec, never through a planted link. */
#ifndef POOLWATCH_OUTPUT_H
#define POOLWATCH_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates DIR (and its parents) if missing. */
bool pw__output_dir_ready(const char *dir);
/* Writes LEN bytes of DATA to DIR/NAME atomically. On failure, warns once
 * and returns false; the program is never affected. */
bool pw__write_file(const char *dir, const char *name, const char *data, size_t len);
/* The same with another mode than 0600, for files that hold no secret and
 * another user must read (the Prometheus textfile, 0644). */
bool pw__write_file_mode(const char *dir, const char *name, const char *data, size_t len,
                         mode_t mode);

#endif
