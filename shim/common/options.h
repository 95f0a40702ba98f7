/* poolwatch's configuration: one table of POOLWATCH_* variables, read once
 * at start. The same table drives `poolwatch --help`, the `poolwatch run`
 * flags and README's options table, so they cannot drift apart. */
#ifndef POOLWATCH_OPTIONS_H
#define POOLWATCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/limits.h"

typedef struct pw__options {
  const char *output_dir;   /* NULL: write no files */
  long exitcode;            /* -1: leave the exit status alone */
  const char *suppressions; /* NULL: none */
  double leak_threshold;    /* seconds; 0: off */
  long pool_size;           /* -1: unset */
  long stack_depth;
  const char *event_log;    /* NULL: off; "stderr" or a path */
  bool quiet;
  const char *prometheus;   /* NULL: off */
  double interval;          /* seconds between live exports */
  double growth_window;     /* seconds; 0: off */
  bool live;                /* publish live state for `poolwatch top` */
} pw__options;

/* Durations are clamped to this range, with a warning: long enough for any
 * threshold or interval, short enough that nanoseconds never overflow. */
#define PW__MIN_DURATION 0.001
#define PW__MAX_DURATION (7 * 24 * 3600.0)

typedef enum pw__option_kind {
  PW__OPTION_PATH,
  PW__OPTION_INT,
  PW__OPTION_DURATION,
  PW__OPTION_BOOL,
} pw__option_kind;

typedef struct pw__option {
  const char *name;        /* environment variable */
  const char *flag;        /* `poolwatch run` flag, or NULL */
  const char *metavar;     /* what the flag takes, for help */
  pw__option_kind kind;
  size_t offset;           /* into pw__options */
  long min, max;           /* for PW__OPTION_INT */
  const char *default_text;
  const char *description;
} pw__option;

extern const pw__option pw__option_table[];
extern const size_t pw__option_count;

/* Fills O with the defaults, then with every variable GETENV returns. A bad
 * value prints one warning naming the variable and keeps the default.
 * GETENV is secure_getenv in the shim and a stub in unit tests. */
void pw__options_load(pw__options *o, char *(*getenv_fn)(const char *));
void pw__options_defaults(pw__options *o);

/* Parses "250ms", "30s", "5m", "1h" or a bare number of seconds into
 * seconds. Returns false on anything else, zero and negatives included. */
bool pw__parse_duration(const char *text, double *seconds);
/* Parses a whole decimal integer in [min, max]. */
bool pw__parse_long(const char *text, long min, long max, long *value);

#endif
