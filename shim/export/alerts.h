/* What poolwatch says on stderr while the program runs: a checkout held
 * too long (with its stack), its return, and a pool that only grows (with
 * the stacks holding it). Worded with common/format.h, as the reports are. */
#ifndef POOLWATCH_ALERTS_H
#define POOLWATCH_ALERTS_H

#include "core/detectors.h"
#include "core/registry.h"

/* "checkout 0x... from pool P held for AGE (POOLWATCH_LEAK_THRESHOLD
 * LIMIT), taken at:" and the stack. */
void pw__alert_held(const pw__held_crossing *c, double limit);
/* "0x... from pool P, reported as held too long, was returned after AGE":
 * HikariCP's "previously reported leaked connection was returned". Says
 * nothing for other events. */
void pw__alert_returned(const pw__event *e);
/* "pool P: pool.checkedout has only grown for AGE, from N to M; the stacks
 * holding the most:" and the (at most 3) stacks holding most of it now. */
void pw__alert_growth(const pw__growth_alert *g);

#endif
