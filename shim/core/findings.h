/* The table of findings (pool_exhausted, double_checkin, ...), one record
 * per kind, pool and stack, with how often it happened. Findings are rare
 * next to checkouts, so one lock guards the table. Internal to the
 * registry, which decides what is a finding (registry.h's
 * pw__finding_add is the entry point). */
#ifndef POOLWATCH_FINDINGS_H
#define POOLWATCH_FINDINGS_H

#include <stdbool.h>

#include "core/records.h"

/* Counts one more occurrence if a record for (KIND, POOL, STACK) exists. */
bool pw__findings_bump(pw__finding_kind kind, const pw__pool *pool, const pw__stack *stack);
/* Adds a record, taking ownership of HOLDERS; if one appeared meanwhile,
 * counts one more occurrence of it instead. */
void pw__findings_insert(const pw__finding_record *record);
/* Copies the table, holders included, into S's findings. */
bool pw__findings_copy(pw__snapshot *s);

void pw__findings_atfork_prepare(void);
void pw__findings_atfork_parent(void);
/* A forked child starts with no findings: those so far are the parent's. */
void pw__findings_atfork_child(void);

#endif
