/* Messages from poolwatch to the user. They go to stderr only (never the
 * host's stdout), are formatted into a stack buffer and written with one
 * write(2), so they never interleave with other threads' lines and never
 * touch the host's stdio state or errno. */
#ifndef POOLWATCH_LOG_H
#define POOLWATCH_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Prints "poolwatch: warning: ..." once per process for each distinct KEY
 * (pass a string literal naming the condition), so a failing disk or a bad
 * option is reported once, not once per event. */
void pw__warn_once(const char *key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "poolwatch: ..." unconditionally. */
void pw__say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes LEN bytes to FD fully, retrying on EINTR. Returns false when a
 * write fails, errno then saying why; a caller on the program's thread
 * saves and restores errno around it. */
bool pw__write_all(int fd, const char *data, size_t len);
/* Called once at load: remembers whether fd 2 was open. When it was not,
 * nothing poolwatch prints goes to fd 2, which the program may fill with
 * a file of its own later. */
void pw__stderr_note_at_load(void);

#endif
