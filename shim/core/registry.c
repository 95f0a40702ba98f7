/* The registry: live connections and checkouts, and the events that change them. */
#include "core/registry.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/census.h"
#include "common/always_touched.h"
#include "common/clock.h"
#include "core/findings.h"
#include "core/redact.h"
#include "core/registry_shards.h"

PW__HIDDEN shard pw__shards[SHARD_COUNT];

_Atomic bool pw__registry_in_use PW__ALWAYS_TOUCHED; /* read at exit */
static _Atomic(pw__event_sink) sink;

/* gettid() is a system call; a thread's id never changes, so it is read
 * once. A forked child's thread gets its own id again (atfork child). */
static __thread pid_t cached_thread_id __attribute__((tls_model("initial-exec")));

static pid_t thread_id(void) {
  if (!cached_thread_id) cached_thread_id = gettid();
  return cached_thread_id;
}

static void mark_used(pw__pool *pool) {
  if (!atomic_load_explicit(&pw__registry_in_use, memory_order_relaxed))
    atomic_store(&pw__registry_in_use, true);
  if (pool && !atomic_load_explicit(&pool->used, memory_order_relaxed))
    atomic_store(&pool->used, true);
}

void pw__registry_set_sink(pw__event_sink s) { atomic_store(&sink, s); }

/* Checked first where an event's figures cost something to work out (a
 * connect's or a checkout's seconds): as arguments, they were worked out
 * on every event. */
static bool events_wanted(void) { return atomic_load_explicit(&sink, memory_order_relaxed); }

static void emit(const char *what, pw__pool *pool, const void *id, const pw__stack *stack,
                 double seconds, const char *detail) {
  pw__event_sink s = atomic_load_explicit(&sink, memory_order_acquire);
  if (!s) return;
  pw__event e = {what, pool, id, stack, seconds, detail};
  s(&e);
}

/* ---- findings ---------------------------------------------------- */

static void finding_add(pw__finding_kind kind, pw__pool *pool, const pw__stack *stack,
                        const pw__stack *other, const char *detail, bool want_holders) {
  mark_used(pool);
  if (!pw__findings_bump(kind, pool, stack)) {
    /* Holders are gathered outside the findings lock: that walks every
     * checkout shard, and only the first failure from a call site pays. */
    pw__finding_record f = {
      .kind = kind, .pool = pool, .stack = stack, .other = other, .count = 1,
      .first_wall_ns = pw__wall_ns(),
    };
    if (detail) snprintf(f.detail, sizeof(f.detail), "%s", detail);
    if (want_holders) f.holders = pw__pool_holders(pool, &f.holder_count);
    pw__findings_insert(&f);
  }
  emit(pw__finding_kind_name(kind), pool, NULL, stack, -1, detail);
}

void pw__finding_add(pw__finding_kind kind, pw__pool *pool, const pw__stack *stack,
                     const pw__stack *other, const char *detail) {
  finding_add(kind, pool, stack, other, detail, false);
}

static void remember(recent *ring, unsigned *next, const void *key, const pw__stack *stack,
                     pw__pool *pool) {
  ring[*next % RECENT_COUNT] = (recent){key, stack, pool};
  (*next)++;
}

static const recent *recall(const recent *ring, const void *key) {
  for (int i = 0; i < RECENT_COUNT; i++)
    if (ring[i].key == key) return &ring[i];
  return NULL;
}

/* ---- connections --------------------------------------------------- */

/* The outcome of a connect (a new connection, an asynchronous one reaching
 * its end, a reset, or an annotated pool's own connect): a connection up
 * counts toward the pool's size and connect time, a failure among its
 * failed connects; one still connecting counts once it ends. */
static inline void account_connect(pw__pool *pool, pw__pool_cells *cells, pw__connect_state state,
                                   uint64_t took_ns) {
  if (state == PW__CONNECTED) {
    pw__pool_gauge_add(&pool->size, &pool->peak_size, 1);
    if (cells) pw__histogram_cell_record(cells->connect, took_ns);
  } else if (state == PW__FAILED) {
    atomic_fetch_add_explicit(&pool->failed_connects, 1, memory_order_relaxed);
  }
}

void pw__conn_opened(pw__pool *pool, const void *conn, const pw__stack *stack,
                     char *conninfo, pw__connect_state state, bool blocking,
                     uint64_t start_ns, uint64_t end_ns) {
  mark_used(pool);
  atomic_fetch_add_explicit(&pool->connects, 1, memory_order_relaxed);
  pw__pool_cells *cells = pw__pool_cells_mine(pool);
  account_connect(pool, cells, state, end_ns - start_ns);
  if (blocking && cells) pw__histogram_cell_record(cells->wait, end_ns - start_ns);
  if (!conn) { /* libpq could not even allocate a PGconn: nothing to track */
    pw__description_release(conninfo);
    return;
  }

  pid_t thread = thread_id();
  shard *sh = shard_of(conn);
  pw__conn_record stale;
  bool replaced;
  pw__spin_lock(&sh->lock);
  /* An address still registered belongs to a PGconn freed behind our
   * back (inherited across fork, or finished by an untracked path). */
  pw__conn_record *r = pw__conn_table_claim(&sh->conns, conn, &stale, &replaced);
  if (r)
    *r = (pw__conn_record){
      .conn = conn, .pool = pool, .stack = stack, .opened_ns = start_ns,
      .connect_start_ns = start_ns,
      .blocking_ns = blocking ? end_ns - start_ns : 0,
      .connect_ns = state == PW__CONNECTED ? end_ns - start_ns : 0,
      .thread = thread, .state = state, .conninfo = conninfo,
    };
  pw__spin_unlock(&sh->lock);
  if (replaced) pw__description_release(stale.conninfo);
  if (!r) pw__description_release(conninfo);
  if (events_wanted())
    emit(state == PW__FAILED ? "connect_failed" : "connect", pool, conn, stack,
         pw__seconds(end_ns - start_ns), NULL);
}

void pw__conn_connect_done(const void *conn, bool ok, uint64_t end_ns) {
  shard *sh = shard_of(conn);
  pw__conn_record *e;
  pw__pool *pool = NULL;
  uint64_t start = 0;
  pw__spin_lock(&sh->lock);
  e = pw__conn_table_find(&sh->conns, conn);
  if (e && e->state == PW__CONNECTING && !e->inherited) {
    e->state = ok ? PW__CONNECTED : PW__FAILED;
    e->connect_ns = ok ? end_ns - e->connect_start_ns : 0;
    pool = e->pool;
    start = e->connect_start_ns;
  }
  pw__spin_unlock(&sh->lock);
  if (!pool) return;
  account_connect(pool, pw__pool_cells_mine(pool), ok ? PW__CONNECTED : PW__FAILED, end_ns - start);
  emit(ok ? "connected" : "connect_failed", pool, conn, NULL, pw__seconds(end_ns - start), NULL);
}

void pw__conn_reset(const void *conn, pw__connect_state state, uint64_t start_ns,
                    uint64_t end_ns) {
  shard *sh = shard_of(conn);
  pw__conn_record *e;
  pw__pool *pool = NULL;
  pw__connect_state before = PW__FAILED;
  pw__spin_lock(&sh->lock);
  e = pw__conn_table_find(&sh->conns, conn);
  if (e && !e->inherited) {
    pool = e->pool;
    before = e->state;
    e->state = state;
    e->connect_start_ns = start_ns;
    e->connect_ns = state == PW__CONNECTED ? end_ns - start_ns : 0;
  }
  pw__spin_unlock(&sh->lock);
  if (!pool) return;
  atomic_fetch_add_explicit(&pool->reconnects, 1, memory_order_relaxed);
  /* The old server connection is gone either way; a new one counts again
   * once it is up. */
  if (before == PW__CONNECTED) atomic_fetch_sub_explicit(&pool->size, 1, memory_order_relaxed);
  account_connect(pool, pw__pool_cells_mine(pool), state, end_ns - start_ns);
  emit("reconnect", pool, conn, NULL, pw__seconds(end_ns - start_ns), NULL);
}

bool pw__conn_finishing(const void *conn, const pw__stack *stack) {
  shard *sh = shard_of(conn);
  pw__conn_record r;
  const pw__stack *first_finish = NULL;
  pw__pool *finished_pool = NULL;
  bool known_finished = false;
  pw__spin_lock(&sh->lock);
  bool found = pw__conn_table_take(&sh->conns, conn, &r);
  if (found) {
    remember(sh->finished, &sh->finished_next, conn, stack, r.pool);
  } else {
    const recent *rec = recall(sh->finished, conn);
    if (rec) {
      known_finished = true;
      first_finish = rec->stack;
      finished_pool = rec->pool;
    }
  }
  pw__spin_unlock(&sh->lock);

  if (known_finished) {
    finding_add(PW__FINDING_DOUBLE_FINISH, finished_pool, stack, first_finish,
                "PQfinish of a connection that was already finished", false);
    return false;
  }
  if (!found) return true; /* never seen: not ours to judge */
  /* Its pool was marked used when it opened, in this process. */
  if (!r.inherited) {
    pw__pool *pool = r.pool;
    if (r.state == PW__CONNECTED) atomic_fetch_sub_explicit(&pool->size, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool->closes, 1, memory_order_relaxed);
    /* The time held goes only to events: without a sink, no clock read. */
    if (events_wanted()) {
      double held = pw__seconds(pw__elapsed_ns(pw__now_ns(), r.opened_ns));
      emit("close", pool, conn, stack, held, NULL);
      if (r.reported_held) emit("held_too_long_returned", pool, conn, r.stack, held, NULL);
    }
  }
  if (r.at_census && !r.inherited)
    pw__census_keep_conn(&r); /* takes the conninfo */
  else
    pw__description_release(r.conninfo);
  return true;
}

bool pw__conn_adopt(const void *conn, pw__pool *pool) {
  shard *sh = shard_of(conn);
  pw__conn_record *e;
  pw__pool *from = NULL;
  bool connected = false, failed = false;
  pw__connect_state state = PW__CONNECTING;
  uint64_t waited = 0, connect_ns = 0;
  pw__spin_lock(&sh->lock);
  e = pw__conn_table_find(&sh->conns, conn);
  if (e && !e->inherited && e->pool != pool) {
    from = e->pool;
    state = e->state;
    connected = state == PW__CONNECTED;
    failed = state == PW__FAILED;
    waited = e->blocking_ns;
    connect_ns = e->connect_ns;
    e->pool = pool;
  }
  pw__spin_unlock(&sh->lock);
  if (!e) return false;
  if (from) {
    mark_used(pool);
    /* The connect moves with the connection. Its time was the libpq
     * pool's wait; in a pool it is part of the checkout's wait instead. */
    if (connected) {
      atomic_fetch_sub_explicit(&from->size, 1, memory_order_relaxed);
      pw__histogram_unrecord(&from->connect, connect_ns);
    }
    if (failed) atomic_fetch_sub_explicit(&from->failed_connects, 1, memory_order_relaxed);
    account_connect(pool, pw__pool_cells_mine(pool), state, connect_ns);
    if (waited) pw__histogram_unrecord(&from->wait, waited);
    atomic_fetch_sub_explicit(&from->connects, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool->connects, 1, memory_order_relaxed);
  }
  return true;
}

/* ---- checkouts ----------------------------------------------------- */

void pw__checkout_done(pw__pool *pool, const void *handle, const pw__stack *stack,
                       uint64_t start_ns, uint64_t end_ns) {
  mark_used(pool);
  pw__pool_cells *cells = pw__pool_cells_mine(pool);
  if (cells) { /* else out of memory: the counts miss this checkout */
    pw__cell_add(cells->checkouts, 1);
    pw__histogram_cell_record(cells->wait, end_ns - start_ns);
  }
  pid_t thread = thread_id();
  pw__checkout_record stale;
  bool replaced;
  shard *sh = shard_of(handle);
  pw__spin_lock(&sh->lock);
  pw__checkout_record *r = pw__checkout_table_claim(&sh->checkouts, handle, &stale, &replaced);
  if (r)
    *r = (pw__checkout_record){
      .handle = handle, .pool = pool, .stack = stack, .at_ns = end_ns, .thread = thread,
    };
  pw__spin_unlock(&sh->lock);
  if (!r) return; /* out of memory: this checkout goes untracked */
  /* The pool handed out a handle it never got back (through a path no
   * hook saw): that checkout is over. */
  if (replaced && !stale.inherited)
    atomic_fetch_sub_explicit(&stale.pool->checked_out, 1, memory_order_relaxed);
  pw__pool_gauge_add(&pool->checked_out, &pool->peak_checked_out, 1);
  if (events_wanted()) emit("checkout", pool, handle, stack, pw__seconds(end_ns - start_ns), NULL);
}

void pw__checkout_failed(pw__pool *pool, const pw__stack *stack, uint64_t start_ns,
                         uint64_t end_ns) {
  mark_used(pool);
  atomic_fetch_add_explicit(&pool->failed_checkouts, 1, memory_order_relaxed);
  pw__histogram_record(&pool->wait, end_ns - start_ns);
  finding_add(PW__FINDING_POOL_EXHAUSTED, pool, stack, NULL,
              "checkout failed: the pool is at its maximum", true);
}

/* Takes HANDLE's checkout out of the registry and copies it to OUT.
 * Returns false when HANDLE is not checked out; then *PREVIOUS (if asked)
 * is the stack of the checkout it was last returned from. CONN, if asked,
 * gets the PGconn bound to HANDLE. */
static bool checkout_take(const void *handle, pw__checkout_record *out,
                          const pw__stack **previous, const void **conn) {
  shard *sh = shard_of(handle);
  handle_entry *bound = NULL;
  pw__spin_lock(&sh->lock);
  bool found = pw__checkout_table_take(&sh->checkouts, handle, out);
  if (conn) {
    HASH_FIND(hh, sh->handles, &handle, sizeof(handle), bound);
    *conn = bound ? bound->conn : NULL;
  }
  if (found) {
    remember(sh->returned, &sh->returned_next, handle, out->stack, out->pool);
  } else if (previous) {
    const recent *r = recall(sh->returned, handle);
    *previous = r ? r->stack : NULL;
  }
  pw__spin_unlock(&sh->lock);
  return found;
}

/* A checkout is over: returned (CHECKED_IN) or closed. */
static void checkout_ended(const pw__checkout_record *c, uint64_t now, bool checked_in) {
  pw__pool *pool = c->pool;
  atomic_fetch_sub_explicit(&pool->checked_out, 1, memory_order_relaxed);
  uint64_t held = pw__elapsed_ns(now, c->at_ns);
  pw__pool_cells *cells = pw__pool_cells_mine(pool);
  if (cells) {
    if (checked_in) pw__cell_add(cells->checkins, 1);
    pw__histogram_cell_record(cells->hold, held);
  }
  if (c->stack) pw__stack_hold_add(c->stack, held);
  if (c->reported_held)
    emit("held_too_long_returned", pool, c->handle, c->stack, pw__seconds(held), NULL);
  if (c->at_census) pw__census_keep_checkout(c);
}

bool pw__checkin_take(const void *handle, pw__checkout_record *taken, const void **conn) {
  return checkout_take(handle, taken, NULL, conn);
}

void pw__checkin_account(pw__pool *pool, const void *handle, const pw__checkout_record *taken,
                         const pw__stack *stack, bool in_transaction) {
  if (!taken) {
    const pw__stack *previous = NULL;
    pw__checkout_record none;
    checkout_take(handle, &none, &previous, NULL); /* only to recall the last checkout */
    if (!pool) pool = pw__pool_libpq();
    mark_used(pool);
    finding_add(PW__FINDING_DOUBLE_CHECKIN, pool, stack, previous,
                "checkin of a connection that is not checked out", false);
    return;
  }
  if (!pool) pool = taken->pool;
  mark_used(pool);
  uint64_t now = pw__now_ns();
  if (!taken->inherited) {
    checkout_ended(taken, now, true);
    if (events_wanted())
      emit("checkin", pool, handle, stack, pw__seconds(pw__elapsed_ns(now, taken->at_ns)), NULL);
  }
  if (in_transaction)
    finding_add(PW__FINDING_CHECKIN_IN_TRANSACTION, pool, stack, taken->stack,
                "returned with a transaction open; the pool rolls it back", false);
}

bool pw__checkin(pw__pool *pool, const void *handle, const pw__stack *stack,
                 bool in_transaction) {
  pw__checkout_record taken;
  bool found = pw__checkin_take(handle, &taken, NULL);
  pw__checkin_account(pool, handle, found ? &taken : NULL, stack, in_transaction);
  return found;
}

bool pw__is_checked_out(const void *handle) {
  shard *sh = shard_of(handle);
  pw__spin_lock(&sh->lock);
  bool found = pw__checkout_table_find(&sh->checkouts, handle) != NULL;
  pw__spin_unlock(&sh->lock);
  return found;
}

void pw__pool_conn_opened(pw__pool *pool, bool ok, uint64_t start_ns, uint64_t end_ns) {
  mark_used(pool);
  atomic_fetch_add_explicit(&pool->connects, 1, memory_order_relaxed);
  account_connect(pool, pw__pool_cells_mine(pool), ok ? PW__CONNECTED : PW__FAILED,
                  end_ns - start_ns);
  emit(ok ? "connect" : "connect_failed", pool, NULL, NULL, pw__seconds(end_ns - start_ns), NULL);
}

void pw__checkout_closed(pw__pool *pool, const void *handle, const pw__stack *stack) {
  pw__checkout_record c;
  if (!checkout_take(handle, &c, NULL, NULL)) return;
  if (!c.inherited) checkout_ended(&c, pw__now_ns(), false);
  finding_add(PW__FINDING_CLOSED_WHILE_CHECKED_OUT, pool, stack, c.stack,
              "connection closed while checked out", false);
}

void pw__pool_conn_closed(pw__pool *pool, const void *handle, const pw__stack *stack) {
  mark_used(pool);
  atomic_fetch_sub_explicit(&pool->size, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&pool->closes, 1, memory_order_relaxed);
  if (handle) pw__checkout_closed(pool, handle, stack);
  emit("close", pool, handle, stack, -1, NULL);
}

void pw__pool_stopped(pw__pool *pool, const pw__stack *stack) {
  mark_used(pool);
  for (int i = 0; i < SHARD_COUNT; i++) {
    shard *sh = &pw__shards[i];
    pw__checkout_record *gone = NULL;
    size_t gone_count = 0;
    pw__spin_lock(&sh->lock);
    for (pw__checkout_record *c = pw__checkout_table_first(&sh->checkouts); c;
         c = pw__checkout_table_next(&sh->checkouts, c)) {
      if (c->pool != pool) continue;
      pw__checkout_record *grown = realloc(gone, (gone_count + 1) * sizeof(*gone));
      if (!grown) break; /* out of memory: the rest stay checked out */
      gone = grown;
      gone[gone_count++] = *c;
      pw__checkout_table_remove_at(&sh->checkouts, c);
    }
    pw__spin_unlock(&sh->lock);
    for (size_t k = 0; k < gone_count; k++) {
      if (!gone[k].inherited) checkout_ended(&gone[k], pw__now_ns(), false);
      finding_add(PW__FINDING_CLOSED_WHILE_CHECKED_OUT, pool, stack, gone[k].stack,
                  "pool stopped while the connection was checked out", false);
    }
    free(gone);
  }
  atomic_store(&pool->stopped, true);
  emit("pool_stop", pool, pool->key, stack, -1, NULL);
}

/* ---- fork ----------------------------------------------------------- */

void pw__registry_atfork_prepare(void) {
  pw__findings_atfork_prepare();
  for (int i = 0; i < SHARD_COUNT; i++) pw__spin_lock(&pw__shards[i].lock);
}

void pw__registry_atfork_parent(void) {
  for (int i = SHARD_COUNT - 1; i >= 0; i--) pw__spin_unlock(&pw__shards[i].lock);
  pw__findings_atfork_parent();
}

void pw__registry_atfork_child(void) {
  /* The child inherits the parent's connections and checkouts: they stay
   * known (so finishing one is not a double finish) but are the parent's
   * to report. Findings so far are the parent's too. */
  for (int i = 0; i < SHARD_COUNT; i++) {
    pw__spin_reset(&pw__shards[i].lock);
    pw__record_table *conns = &pw__shards[i].conns;
    for (pw__conn_record *c = pw__conn_table_first(conns); c; c = pw__conn_table_next(conns, c))
      c->inherited = true;
    pw__record_table *t = &pw__shards[i].checkouts;
    for (pw__checkout_record *c = pw__checkout_table_first(t); c; c = pw__checkout_table_next(t, c))
      c->inherited = true;
  }
  pw__findings_atfork_child();
  pw__census_atfork_child();
  cached_thread_id = 0;
  atomic_store(&pw__registry_in_use, false);
}
