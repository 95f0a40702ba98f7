/* libFuzzer harness for the suppressions parser and matcher. The input is
 * a suppressions file; its first two lines are also matched as PATTERN and
 * TEXT against a plain dynamic-programming matcher, which is slow but
 * obviously right, so the linear matcher must agree with it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/suppress.h"

/* Does PATTERN ('*' any run) match anywhere in TEXT? O(|P|·|T|) table. */
static int reference_match(const char *pattern, const char *text) {
  size_t np = strlen(pattern), nt = strlen(text);
  /* match[j]: pattern[0..i) matches some suffix ending at text[0..j). */
  unsigned char *row = calloc(nt + 1, 1), *next = calloc(nt + 1, 1);
  if (!row || !next) abort();
  for (size_t j = 0; j <= nt; j++) row[j] = 1; /* empty pattern, any start */
  for (size_t i = 0; i < np; i++) {
    memset(next, 0, nt + 1);
    for (size_t j = 0; j <= nt; j++) {
      if (pattern[i] == '*')
        next[j] = row[j] || (j > 0 && next[j - 1]);
      else
        next[j] = j > 0 && row[j - 1] && text[j - 1] == pattern[i];
    }
    unsigned char *t = row;
    row = next;
    next = t;
  }
  int found = 0;
  for (size_t j = 0; j <= nt; j++) found |= row[j];
  free(row);
  free(next);
  return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';

  pw__suppressions *s = pw__suppressions_parse(text, "fuzz");
  const pw__frame frames[] = {
    {"OrderRepository_load", "src/legacy/orders.c", 88, "/opt/shop/bin/shop", 0x4321},
    {NULL, NULL, 0, "/usr/lib/x86_64-linux-gnu/libzdb.so.13", 0x777},
    {"main", "src/main.c", 12, "/opt/shop/bin/shop", 0x1000},
  };
  pw__suppressions_match(s, frames, 3);
  pw__suppressions_free(s);

  char *newline = strchr(text, '\n');
  if (newline && size < 4096) {
    *newline = '\0';
    const char *pattern = text, *subject = newline + 1;
    char *end = strchr(newline + 1, '\n');
    if (end) *end = '\0';
    int fast = pw__pattern_match(pattern, subject);
    int slow = reference_match(pattern, subject);
    if (fast != slow) {
      fprintf(stderr, "pattern '%s' on '%s': matcher says %d, reference %d\n", pattern, subject,
              fast, slow);
      abort();
    }
  }
  free(text);
  return 0;
}
