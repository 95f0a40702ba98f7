/* The one table of POOLWATCH_* options, and how their values are parsed. */
#include "common/options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define FIELD(f) offsetof(pw__options, f)

const pw__option pw__option_table[] = {
  {"POOLWATCH_OUTPUT_DIR", "--output", "DIR", PW__OPTION_PATH, FIELD(output_dir), 0, 0,
   "unset: no files", "directory for poolwatch-PID.json, .txt and .dashboard.json; created if missing"},
  {"POOLWATCH_EXITCODE", "--exitcode", "N", PW__OPTION_INT, FIELD(exitcode), 0, 255,
   "unset: status unchanged", "exit status of the process when unsuppressed leaks remain at exit"},
  {"POOLWATCH_SUPPRESSIONS", "--suppressions", "FILE", PW__OPTION_PATH, FIELD(suppressions), 0, 0,
   "none", "file of leak:PATTERN lines matching a function, file or module in the stack (* wildcard, # comments)"},
  {"POOLWATCH_LEAK_THRESHOLD", "--threshold", "DURATION", PW__OPTION_DURATION, FIELD(leak_threshold), 0, 0,
   "unset: off", "report a checkout or connection held longer than this (250ms, 30s, 5m) while the process runs"},
  {"POOLWATCH_POOL_SIZE", "--pool-size", "N", PW__OPTION_INT, FIELD(pool_size), 0, 1000000,
   "unset", "configured size of the implicit libpq pool, for pool.overflow"},
  {"POOLWATCH_STACK_DEPTH", "--depth", "N", PW__OPTION_INT, FIELD(stack_depth), 0, PW__MAX_STACK_DEPTH,
   "32", "frames kept per stack, at most 128; 0 turns stack capture off (cheapest, leaks grouped by pool only)"},
  {"POOLWATCH_EVENT_LOG", "--event-log", "FILE", PW__OPTION_PATH, FIELD(event_log), 0, 0,
   "off", "file (or stderr) that gets one line per connect, close, checkout, checkin and finding"},
  {"POOLWATCH_QUIET", "--quiet", NULL, PW__OPTION_BOOL, FIELD(quiet), 0, 1,
   "0", "1: no report on stderr (files are still written)"},
  {"POOLWATCH_PROMETHEUS", "--prometheus", "FILE", PW__OPTION_PATH, FIELD(prometheus), 0, 0,
   "off", "file rewritten every interval in Prometheus text format (node_exporter textfile collector)"},
  {"POOLWATCH_INTERVAL", "--interval", "DURATION", PW__OPTION_DURATION, FIELD(interval), 0, 0,
   "5s", "how often live exports are refreshed"},
  {"POOLWATCH_GROWTH_WINDOW", "--growth-window", "DURATION", PW__OPTION_DURATION, FIELD(growth_window), 0, 0,
   "unset: off", "say once when pool.checkedout has only grown for this long"},
  {"POOLWATCH_LIVE", "--live", NULL, PW__OPTION_BOOL, FIELD(live), 0, 1,
   "0", "1: publish live state every interval for `poolwatch top` (/dev/shm/poolwatch-UID/poolwatch-PID.live.json)"},
};
const size_t pw__option_count = sizeof(pw__option_table) / sizeof(pw__option_table[0]);

void pw__options_defaults(pw__options *o) {
  memset(o, 0, sizeof(*o));
  o->exitcode = -1;
  o->pool_size = -1;
  o->stack_depth = 32;
  o->interval = 5.0;
}

bool pw__parse_long(const char *text, long min, long max, long *value) {
  if (!text || !*text) return false;
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || *end || end == text || v < min || v > max) return false;
  *value = v;
  return true;
}

bool pw__parse_duration(const char *text, double *seconds) {
  if (!text || !*text) return false;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || !isfinite(v) || v <= 0) return false;
  static const struct { const char *suffix; double scale; } units[] = {
    {"", 1}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600},
  };
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strcmp(end, units[i].suffix) == 0) {
      *seconds = v * units[i].scale;
      return true;
    }
  }
  return false;
}

static bool parse_bool(const char *text, bool *value) {
  if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0 || strcmp(text, "yes") == 0) {
    *value = true;
    return true;
  }
  if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0 || strcmp(text, "no") == 0 ||
      !*text) {
    *value = false;
    return true;
  }
  return false;
}

static void load_one(pw__options *o, const pw__option *opt, const char *text) {
  char *field = (char *)o + opt->offset;
  switch (opt->kind) {
    case PW__OPTION_PATH:
      if (!*text) {
        pw__warn_once(opt->name, "%s is empty; using the default (%s)", opt->name,
                      opt->default_text);
        return;
      }
      /* A copy: the environment's own string may be gone by exit, when
       * the path is used (Perl frees the environment it copied during its
       * destruction, before poolwatch writes its report). One copy per
       * option, replaced when the options are read again. */
      {
        static char *copies[64];
        size_t index = (size_t)(opt - pw__option_table);
        char *copy = strdup(text);
        if (index < sizeof(copies) / sizeof(copies[0])) {
          free(copies[index]);
          copies[index] = copy;
        }
        *(const char **)field = copy ? copy : text;
      }
      return;
    case PW__OPTION_INT: {
      long v;
      if (!pw__parse_long(text, opt->min, opt->max, &v)) {
        pw__warn_once(opt->name, "%s='%s' is not a whole number from %ld to %ld; using the default (%s)",
                      opt->name, text, opt->min, opt->max, opt->default_text);
        return;
      }
      *(long *)field = v;
      return;
    }
    case PW__OPTION_DURATION: {
      double v;
      if (!pw__parse_duration(text, &v)) {
        pw__warn_once(opt->name, "%s='%s' is not a positive duration such as 250ms, 30s or 5m; using the default (%s)",
                      opt->name, text, opt->default_text);
        return;
      }
      /* 1e19 s became a busy loop of the monitor thread, and a threshold
       * of 2e10 s overflowed to 0 in nanoseconds, reporting every checkout
       * as held too long: durations are clamped, with a warning. */
      double clamped = v < PW__MIN_DURATION ? PW__MIN_DURATION
                       : v > PW__MAX_DURATION ? PW__MAX_DURATION : v;
      if (clamped != v)
        pw__warn_once(opt->name, "%s='%s' is out of range (1ms to 7 days); using %gs", opt->name,
                      text, clamped);
      *(double *)field = clamped;
      return;
    }
    case PW__OPTION_BOOL:
      if (!parse_bool(text, (bool *)field))
        pw__warn_once(opt->name, "%s='%s' is not 0 or 1; using the default (%s)", opt->name,
                      text, opt->default_text);
      return;
  }
}

void pw__options_load(pw__options *o, char *(*getenv_fn)(const char *)) {
  pw__options_defaults(o);
  for (size_t i = 0; i < pw__option_count; i++) {
    const char *text = getenv_fn(pw__option_table[i].name);
    if (text) load_one(o, &pw__option_table[i], text);
  }
}
