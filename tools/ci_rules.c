/* What each kind of leak and finding means, for the CI formats' rules and
 * messages; the same words as README's table of findings. */
#include <string.h>

#include "report_ci.h"

const ci_rule ci_rules[] = {
    {"leaked_connection", "LeakedConnection",
     "A PostgreSQL connection was still open when the process exited.",
     "The program opened a libpq connection (PQconnectdb and friends, directly or inside a "
     "pool) and never closed it with PQfinish. Each leaked connection holds a server backend "
     "until the process ends; in a service that keeps running they pile up until the server's "
     "max_connections is reached. Close the connection on every path, error paths included. "
     "The location is the first frame of your own code on the stack that opened it; the code "
     "flow shows the whole stack, outermost call first. A failed connect whose PGconn was "
     "never finished is a leak too."},
    {"leaked_checkout", "LeakedCheckout",
     "A connection checked out of a pool was never returned.",
     "The program took a connection from a pool (libzdb's ConnectionPool_getConnection, or a "
     "pool annotated with poolwatch.h) and had not returned it (Connection_close, pw_checkin) "
     "when the process exited. In a service each such checkout shrinks the pool for good, "
     "until checkouts block or fail (pool_exhausted). Return the connection on every path. "
     "The location is the first frame of your own code on the stack that checked it out."},
    {"pool_exhausted", "PoolExhausted",
     "A checkout failed or timed out because the pool had no free connection.",
     "A checkout from the pool failed or timed out. The finding lists the stacks of everyone "
     "holding the pool's connections at that moment: usually one of them holds its connection "
     "too long or never returns it."},
    {"checkin_in_transaction", "CheckinInTransaction",
     "A connection went back to its pool with a transaction open.",
     "A connection was returned to its pool while a transaction was still open. libzdb then "
     "rolls the transaction back, so the writes made in it vanish without an error. Commit or "
     "roll back before returning the connection."},
    {"closed_while_checked_out", "ClosedWhileCheckedOut",
     "A pool closed a connection the program still held.",
     "The pool closed a connection that was checked out: the program's next query on it "
     "fails. The second stack shows where it was checked out."},
    {"double_checkin", "DoubleCheckin",
     "A connection was returned to its pool though it was not checked out.",
     "A connection was returned that was not checked out, usually a second return of the same "
     "connection. The second stack shows where it was previously checked out."},
    {"double_finish", "DoubleFinish",
     "PQfinish was called on a connection that was already finished.",
     "PQfinish of a connection already finished: libpq would free the same memory twice, so "
     "poolwatch does not forward the call. The second stack shows where it was first "
     "finished."},
    {"held_too_long", "HeldTooLong",
     "A checkout was held longer than POOLWATCH_LEAK_THRESHOLD.",
     "A checkout (or a libpq connection) was held past POOLWATCH_LEAK_THRESHOLD while the "
     "process ran: a leak in a process that never exits looks like this."},
    {"pool_not_closed", "PoolNotClosed",
     "A pool was still running when the process exited.",
     "A pool was not stopped before the process exited; its idle connections are not "
     "reported one by one. Stop the pool (ConnectionPool_stop) when the program is done with "
     "it."},
};

const size_t ci_rule_count = sizeof(ci_rules) / sizeof(ci_rules[0]);

const ci_rule *ci_rule_for(const char *kind, bool leak) {
  if (!kind) return NULL;
  for (size_t i = 0; i < ci_rule_count; i++) {
    const char *id = ci_rules[i].id;
    if (leak ? strncmp(id, "leaked_", 7) == 0 && strcmp(id + 7, kind) == 0
             : strcmp(id, kind) == 0)
      return &ci_rules[i];
  }
  return NULL;
}
