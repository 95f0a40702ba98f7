/* libFuzzer harness for the environment-option parser: the input is
 * NAME=VALUE lines, served to the loader as its environment, and each
 * value is also given to the duration and whole-number parsers. Whatever
 * the values, the loaded options stay within their documented ranges. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/options.h"

#define MAX_VARIABLES 32
static char *names[MAX_VARIABLES], *values[MAX_VARIABLES];
static int count;

static char *fake_getenv(const char *name) {
  for (int i = 0; i < count; i++)
    if (strcmp(names[i], name) == 0) return values[i];
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  count = 0;
  for (char *line = text, *next; line && count < MAX_VARIABLES; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    names[count] = line;
    values[count++] = eq + 1;
    double seconds;
    long n;
    pw__parse_duration(eq + 1, &seconds);
    pw__parse_long(eq + 1, -1000, 1000, &n);
  }
  pw__options o;
  pw__options_load(&o, fake_getenv);
  if (o.stack_depth < 0 || o.stack_depth > PW__MAX_STACK_DEPTH) abort();
  if (o.exitcode < -1 || o.exitcode > 255) abort();
  const double durations[] = {o.leak_threshold, o.interval, o.growth_window};
  for (int i = 0; i < 3; i++)
    if (durations[i] != 0 && !(durations[i] >= PW__MIN_DURATION && durations[i] <= PW__MAX_DURATION))
      abort();
  free(text);
  return 0;
}
