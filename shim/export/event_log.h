/* POOLWATCH_EVENT_LOG: one line per connect, close, checkout, checkin and
 * finding, with time, thread, pool and connection id, in the spirit of
 * SQLAlchemy's echo_pool. Each line is one write(2) to a file opened with
 * O_APPEND, so lines from many threads (and processes) never interleave. */
#ifndef POOLWATCH_EVENT_LOG_H
#define POOLWATCH_EVENT_LOG_H

#include <stdbool.h>

#include "core/registry.h"

/* Opens the log named by the configuration, if any, and subscribes to the
 * registry's events. Called once, from initialization. */
void pw__event_log_start(void);
/* Writes a line to the event log:
 * "TIME poolwatch[PID] thread=TID WHAT pool=NAME id=0x... seconds=S stack=N at=FN DETAIL". */
void pw__event_line(const pw__event *e);

#endif
