/* The live state of a running process, for `poolwatch top`: a small JSON
 * file in the user's private live directory (common/paths.h), mode 0600, rewritten atomically by
 * the monitor thread each interval and removed at exit. The hot path never
 * writes it. */
#ifndef POOLWATCH_LIVE_H
#define POOLWATCH_LIVE_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/paths.h"
#include "core/pool.h"
#include "report/symbolize.h"

/* {"pid", "program", "updated_at", "interval", "pools": [...] (as in the
 * report), "oldest": [the oldest live checkouts and libpq connections,
 * with age and top frames], "call_sites": [stacks by connection-seconds
 * held, completed and live]}. */
void pw__live_format(pw__buf *out);

/* The monitor thread's libdw session, kept across ticks and opened again
 * only when a library is loaded or unloaded: opening one reads the debug
 * info of every module. Use it until pw__session_release; SHARED says
 * whether it was the kept one. */
pw__symbolizer *pw__session_acquire(bool *shared);
void pw__session_release(pw__symbolizer *symbolizer, bool shared);

#endif
