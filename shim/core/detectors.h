/* Findings judged from the state at a moment rather than from one event:
 * a pool left running at exit, a checkout held too long, a pool whose
 * checkouts only grow. The caller decides when to look (the monitor
 * thread, the report); these only judge, record and say what they found. */
#ifndef POOLWATCH_DETECTORS_H
#define POOLWATCH_DETECTORS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/records.h"

/* pool_not_closed: appends to S one finding for each pool that was started
 * and never stopped (its idle connections are then not leaks). Returns
 * false when memory runs out. */
bool pw__detect_pools_not_closed(pw__snapshot *s);

/* A checkout (or libpq connection) that crossed the threshold. */
typedef struct pw__held_crossing {
  pw__pool *pool;
  const void *id;
  const pw__stack *stack;
  double age; /* seconds */
} pw__held_crossing;

/* held_too_long: recounts each pool's held_too_long gauge against LIMIT
 * seconds, and finds each checkout (or, in the libpq pool, connection)
 * that crossed it since the last look. The first CAP of those go to OUT;
 * returns how many did. */
size_t pw__detect_held_too_long(double limit, pw__held_crossing *out, size_t cap);
/* Records the crossings as findings, which the event log sees. The
 * monitor prints its alerts first: a program that watches the event log
 * may act (and exit, unloading the code the alert's stack points into) as
 * soon as the event is there. */
void pw__held_too_long_record(const pw__held_crossing *found, size_t n);

/* A pool whose checkouts only grew for a whole window. */
typedef struct pw__growth_alert {
  pw__pool *pool;
  double seconds;
  long from, to;
} pw__growth_alert;

/* Growth: follows each pool's checked-out count from one look to the next;
 * a pool whose count has not gone down for WINDOW seconds while rising is
 * reported once. Returns how many pools crossed now (at most CAP, in OUT). */
size_t pw__detect_growth(double window, pw__growth_alert *out, size_t cap);
/* In a forked child: the parent's windows are not the child's. */
void pw__detect_growth_forget(void);

#endif
