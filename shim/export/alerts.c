/* The messages of the held-too-long and growth detectors, with their stacks. */
#include "export/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/format.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/sort.h"
#include "export/live.h"
#include "report/symbolize.h"

/* HEADLINE and STACK, symbolized, as one write. */
static void say_with_stack(const char *headline, const pw__stack *stack) {
  pw__buf text;
  pw__buf_init(&text);
  pw__buf_printf(&text, "poolwatch: %s\n", headline);
  /* The live view's session: a session per message would read every
   * module's debug info again for each checkout crossing the threshold. */
  bool shared;
  pw__symbolizer *symbolizer = pw__session_acquire(&shared);
  pw__frame frames[PW__MAX_STACK_DEPTH * 2];
  size_t n = pw__symbolize(symbolizer, stack ? stack->frames : NULL, stack ? stack->depth : 0,
                           frames, PW__MAX_STACK_DEPTH * 2);
  pw__format_stack(&text, "    ", frames, n);
  if (!text.failed) pw__write_all(STDERR_FILENO, text.data, text.len);
  pw__session_release(symbolizer, shared);
  pw__buf_free(&text);
}

void pw__alert_held(const pw__held_crossing *c, double limit) {
  char headline[256], age[32], limit_text[32];
  snprintf(headline, sizeof(headline),
           "%s %p from pool %s held for %s (POOLWATCH_LEAK_THRESHOLD %s), taken at:",
           c->pool->kind == PW__POOL_LIBPQ ? "connection" : "checkout", c->id, c->pool->name,
           pw__format_age(c->age, age, sizeof(age)),
           pw__format_age(limit, limit_text, sizeof(limit_text)));
  say_with_stack(headline, c->stack);
}

void pw__alert_returned(const pw__event *e) {
  if (strcmp(e->what, "held_too_long_returned") != 0) return;
  char age[32];
  pw__say("%p from pool %s, reported as held too long, was returned after %s", e->id,
          e->pool ? e->pool->name : "?", pw__format_age(e->seconds, age, sizeof(age)));
}

static int by_count(const void *a, const void *b) {
  size_t x = ((const pw__holder *)a)->count, y = ((const pw__holder *)b)->count;
  return x > y ? -1 : x < y;
}

void pw__alert_growth(const pw__growth_alert *g) {
  char age[32];
  pw__say("pool %s: pool.checkedout has only grown for %s, from %ld to %ld; "
          "the stacks holding the most:",
          g->pool->name, pw__format_age(g->seconds, age, sizeof(age)), g->from, g->to);
  size_t count;
  pw__holder *holders = pw__pool_holders(g->pool, &count);
  if (!holders) return;
  pw__sort(holders, count, sizeof(*holders), by_count);
  for (size_t i = 0; i < count && i < 3; i++) {
    char headline[128];
    snprintf(headline, sizeof(headline), "%zu held, taken at:", holders[i].count);
    say_with_stack(headline, holders[i].stack);
  }
  free(holders);
}
