/* What this process image runs with: the configuration read from the
 * POOLWATCH_* variables, and when the process started. */
#ifndef POOLWATCH_CONFIG_H
#define POOLWATCH_CONFIG_H

#include "common/options.h"

/* Read once, on the first hooked call (not at load: a process that never
 * uses libpq must not even see a warning about a bad option). Until then
 * it holds the defaults, so the core and its unit tests can run without
 * the hooks; a test may set fields directly. */
extern pw__options pw__config;

/* Reads POOLWATCH_* through GETENV_FN into pw__config and applies what the
 * core itself needs (the libpq pool's configured size). */
void pw__config_load(char *(*getenv_fn)(const char *));

/* Seconds since the epoch when this process (or forked child) started:
 * the report's started_at, to the kernel's clock tick (10 ms). */
double pw__process_started_at(void);
/* In a forked child: its start is read again when asked. */
void pw__process_forget_start(void);

#endif
