/* The process's configuration and start time, shared by every stage. */
#include "core/config.h"

#include "common/always_touched.h"
#include "common/clock.h"
#include "core/pool.h"

pw__options pw__config = {.exitcode = -1, .pool_size = -1, .stack_depth = 32, .interval = 5.0};

/* Kept in nanoseconds: converting at load would read a constant from
 * .rodata, one more page. */
static uint64_t started_ns PW__ALWAYS_TOUCHED;

void pw__config_load(char *(*getenv_fn)(const char *)) {
  pw__options_load(&pw__config, getenv_fn);
  pw__pool_set_libpq_size(pw__config.pool_size);
}

double pw__process_started_at(void) { return (double)started_ns / 1e9; }

PW__RUN_AT_LOAD void pw__process_mark_start(void) { started_ns = pw__wall_ns(); }
