/* The registry: every live connection and checkout, with the stack that
 * made it, and the findings seen so far. This is poolwatch's core; hooks
 * report events here through this plain C API, and unit tests drive it
 * directly without any preloading.
 *
 * Tables are sharded by address with a mutex per shard. No lock is ever
 * held across a call into libpq or a pool, which can block for seconds. */
#ifndef POOLWATCH_REGISTRY_H
#define POOLWATCH_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/pool.h"
#include "core/records.h"
#include "core/stack.h"

/* --- connections ---------------------------------------------------- */

/* A connect call returned CONN. START_NS..END_NS is the time spent in the
 * call; BLOCKING says the program waited for it (counted as wait time).
 * Takes ownership of CONNINFO (a description from core/redact.h; may be
 * NULL). */
void pw__conn_opened(pw__pool *pool, const void *conn, const pw__stack *stack,
                     char *conninfo, pw__connect_state state, bool blocking,
                     uint64_t start_ns, uint64_t end_ns);
/* An asynchronous connect (or reset) of CONN reached OK or FAILED. */
void pw__conn_connect_done(const void *conn, bool ok, uint64_t end_ns);
/* PQreset/PQresetStart on CONN: same connection, reconnected. STATE is the
 * outcome (CONNECTING for PQresetStart). */
void pw__conn_reset(const void *conn, pw__connect_state state, uint64_t start_ns,
                    uint64_t end_ns);
/* The program is finishing CONN. Returns false when CONN was already
 * finished (a double finish, recorded as a finding): the caller must not
 * forward the call, since libpq would free the same memory twice. */
bool pw__conn_finishing(const void *conn, const pw__stack *stack);

/* --- checkouts ------------------------------------------------------ */

void pw__checkout_done(pw__pool *pool, const void *handle, const pw__stack *stack,
                       uint64_t start_ns, uint64_t end_ns);
/* A checkout failed (the pool is exhausted): recorded with the stacks of
 * every checkout the pool holds at this moment. */
void pw__checkout_failed(pw__pool *pool, const pw__stack *stack, uint64_t start_ns,
                         uint64_t end_ns);
/* HANDLE goes back to POOL. IN_TRANSACTION: the connection had an open
 * transaction at that moment. STACK may be NULL on the hot path; it is
 * only needed for a finding, and then the hook passes it. Returns false
 * for a double checkin. */
bool pw__checkin(pw__pool *pool, const void *handle, const pw__stack *stack,
                 bool in_transaction);
/* A checkin in two steps, for hooks that must look at the connection in
 * between (libzdb rolls an open transaction back on return): TAKE removes
 * HANDLE's checkout before the call is forwarded (once returned, the
 * connection may be handed to another thread at once), copying it to
 * TAKEN, and says which PGconn HANDLE wraps (see pw__handle_bind) if CONN
 * is not NULL; it returns false when HANDLE is not checked out. ACCOUNT
 * then records the checkin, or a double checkin when TAKEN is NULL. POOL
 * NULL means the checkout's own pool. */
bool pw__checkin_take(const void *handle, pw__checkout_record *taken, const void **conn);
void pw__checkin_account(pw__pool *pool, const void *handle, const pw__checkout_record *taken,
                         const pw__stack *stack, bool in_transaction);
/* Is HANDLE checked out right now? */
bool pw__is_checked_out(const void *handle);
/* HANDLE (a pool's connection object, such as libzdb's Connection_T) wraps
 * the PGconn CONN and belongs to POOL: checkins look up CONN to see its
 * transaction state before the pool rolls it back. */
void pw__handle_bind(const void *handle, const void *conn, pw__pool *pool);
void pw__handle_unbind(const void *handle);
/* Fills what is known of HANDLE; returns false when it was never bound. */
bool pw__handle_lookup(const void *handle, const void **conn, pw__pool **pool,
                       bool *checked_out);
/* HANDLE was closed by its pool; if still checked out, that checkout ends
 * as a closed_while_checked_out finding. */
void pw__checkout_closed(pw__pool *pool, const void *handle, const pw__stack *stack);
/* CONN, if it is a PGconn poolwatch saw opened, now belongs to POOL (an
 * annotated pool that opens its connections with libpq). Returns false
 * when CONN is not a live PGconn. */
bool pw__conn_adopt(const void *conn, pw__pool *pool);
/* A pooled connection was opened or closed by its pool (annotation API,
 * where the pool's connections are not PGconns poolwatch saw opened). */
void pw__pool_conn_opened(pw__pool *pool, bool ok, uint64_t start_ns, uint64_t end_ns);
void pw__pool_conn_closed(pw__pool *pool, const void *handle, const pw__stack *stack);
/* POOL was stopped: anything still checked out is closed under the
 * program's feet (closed_while_checked_out). */
void pw__pool_stopped(pw__pool *pool, const pw__stack *stack);

/* --- findings ------------------------------------------------------- */

/* Records a finding. OTHER is a second stack (the first finish of a double
 * finish; the checkout of a double checkin). */
void pw__finding_add(pw__finding_kind kind, pw__pool *pool, const pw__stack *stack,
                     const pw__stack *other, const char *detail);

/* Adds to TOTALS[kind] the occurrences of each finding kind in POOL. */
void pw__finding_totals(const pw__pool *pool, uint64_t totals[PW__FINDING_KIND_COUNT]);

/* --- the census ----------------------------------------------------- */

/* The program's own code has finished: a language runtime (Python, Ruby,
 * Perl) is about to finalize, and its finalizers will close whatever the
 * program left open, which would hide every leak. Marks each connection
 * and checkout open now that counts as a leak (connections of the libpq
 * pool or of a stopped pool, every checkout); one closed afterwards stays
 * in the registry as closed_at_shutdown, so the exit report still lists
 * it. Returns how many it marked. May be called again: it marks what is
 * open then. */
size_t pw__census_take(void);

/* --- snapshots for reports ------------------------------------------ */

/* Who holds POOL's connections right now: one entry per stack, with how
 * many it holds (live checkouts; for the libpq pool, open connections), in
 * the order found. Free the array; NULL when memory runs out. */
pw__holder *pw__pool_holders(pw__pool *pool, size_t *count);

/* Copies the registry. Strings and holder arrays are copied too; free
 * with pw__snapshot_free. Returns false when memory runs out. */
bool pw__snapshot_take(pw__snapshot *s);
void pw__snapshot_free(pw__snapshot *s);

/* Calls FN for each live checkout or connection under its shard lock
 * (for the leak threshold check and live views); FN may set reported_held
 * but must not call back into the registry. */
void pw__checkouts_foreach(void (*fn)(pw__checkout_record *, void *), void *arg);
void pw__conns_foreach(void (*fn)(pw__conn_record *, void *), void *arg);

/* Has this process seen any connection or pool event? A process that has
 * not stays silent at exit. Inline: every process asks at exit, and a call
 * would fault in one more page of poolwatch's code. */
extern _Atomic bool pw__registry_in_use;
static inline bool pw__registry_used(void) { return atomic_load(&pw__registry_in_use); }

void pw__registry_atfork_prepare(void);
void pw__registry_atfork_parent(void);
void pw__registry_atfork_child(void);

/* Observers: the event log and live exports hook in here. */
typedef struct pw__event {
  const char *what;           /* connect, close, checkout, checkin, or a finding kind */
  pw__pool *pool;
  const void *id;             /* PGconn or pool handle */
  const pw__stack *stack;
  double seconds;             /* duration where meaningful, else -1 */
  const char *detail;
} pw__event;
typedef void (*pw__event_sink)(const pw__event *);
/* One sink; NULL turns it off. Called outside registry locks. */
void pw__registry_set_sink(pw__event_sink sink);

#endif
