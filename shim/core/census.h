/* What the census found open and a language runtime's shutdown closed
 * afterwards. Python, Ruby and Perl close every connection a program left
 * open while they finalize, so without these records the exit report
 * would say "no leaks" for a script that never closed anything. Internal
 * to the registry: registry.h's pw__census_take is the entry point. */
#ifndef POOLWATCH_CENSUS_H
#define POOLWATCH_CENSUS_H

#include <stdbool.h>

#include "core/registry.h"

/* Keeps a record that was open at the census and is closed now; the
 * connection's conninfo passes to the census. */
void pw__census_keep_conn(const pw__conn_record *record);
void pw__census_keep_checkout(const pw__checkout_record *record);

/* Appends copies of the kept records to S's connections and checkouts. */
bool pw__census_copy(pw__snapshot *s);

/* A forked child starts with no census: it runs code of its own. */
void pw__census_atfork_child(void);

#endif
