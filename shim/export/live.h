/* The live state of a running process, for `poolwatch top`: a small JSON
 * file in shared memory (PW__LIVE_DIR), mode 0600, rewritten atomically by
 * the monitor thread each interval and removed at exit. The hot path never
 * writes it. */
#ifndef POOLWATCH_LIVE_H
#define POOLWATCH_LIVE_H

#include <stdbool.h>

#include "common/buf.h"
#include "core/pool.h"
#include "core/stack.h"
#include "report/symbolize.h"

#define PW__LIVE_DIR "/dev/shm"

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

/* Calls SAY for each of the (at most 3) stacks holding most of POOL's
 * live checkouts, with a headline saying how many. */
void pw__live_top_holders(pw__pool *pool, void (*say)(const char *headline, const pw__stack *));

#endif
