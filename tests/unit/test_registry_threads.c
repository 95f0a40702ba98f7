/* The registry under many threads, built with ThreadSanitizer: threads
 * check out and in, connect and finish, and hand connections to each
 * other (one thread opens, another finishes; one checks out, another
 * returns), as worker pools do. At the end every counter must be exact,
 * and TSan must have seen no race. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/clock.h"
#include "core/pool.h"
#include "core/registry.h"
#include "core/stack.h"
#include "unit_assert.h"

enum {
  THREADS = 8,
  ROUNDS = 4000,       /* per thread: one checkout and one connect each */
  FAILED_EVERY = 100,  /* a failed checkout (pool exhausted) every N rounds */
  SNAPSHOT_EVERY = 500 /* a reader takes a snapshot every N rounds */
};

static pw__pool *pool;  /* checkouts */
static pw__pool *conns; /* connections */
static char pool_key, conns_key;

/* Work handed from one thread to another: a handle to check in or a
 * connection to finish. One mutex-protected stack is enough here; the
 * registry is what is under test. */
typedef struct item {
  struct item *next;
  bool is_checkout;
} item;

static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static item *handoff;

static void hand_off(item *it) {
  pthread_mutex_lock(&handoff_lock);
  it->next = handoff;
  handoff = it;
  pthread_mutex_unlock(&handoff_lock);
}

static item *take(void) {
  pthread_mutex_lock(&handoff_lock);
  item *it = handoff;
  if (it) handoff = it->next;
  pthread_mutex_unlock(&handoff_lock);
  return it;
}

/* Returns IT to its pool or finishes it, then frees it: the address may
 * come back from malloc for the next checkout, as a PGconn's does. */
static void finish_item(item *it, const pw__stack *stack) {
  if (it->is_checkout) {
    if (!pw__checkin(pool, it, stack, false)) abort();
  } else {
    if (!pw__conn_finishing(it, stack)) abort();
  }
  free(it);
}

/* Each thread interns stacks from a few call sites, some shared with
 * other threads, so interning races too. Made-up frames rather than
 * pw__stack_capture: under TSan, libunwind's per-thread cache destructor
 * crashes at thread exit (inside TSan's mutex interceptor), which says
 * nothing about poolwatch. */
static const pw__stack *site(int thread, int which) {
  uintptr_t frames[3] = {0x401000 + (uintptr_t)which * 16, 0x402000 + (uintptr_t)(thread % 2),
                         0x403000};
  return pw__stack_intern(frames, 3);
}

static void *worker(void *arg) {
  int thread = (int)(intptr_t)arg;
  for (int round = 0; round < ROUNDS; round++) {
    uint64_t now = pw__now_ns();
    item *checkout = calloc(1, sizeof(*checkout));
    item *conn = calloc(1, sizeof(*conn));
    if (!checkout || !conn) abort();
    checkout->is_checkout = true;
    pw__checkout_done(pool, checkout, site(thread, round % 4), now, now + 1000);
    pw__conn_opened(conns, conn, site(thread, 4 + round % 3), NULL, PW__CONNECTED, true, now,
                    now + 2000);

    /* Half the work is handed to whichever thread comes next. */
    if (round % 2) {
      hand_off(checkout);
      hand_off(conn);
    } else {
      finish_item(conn, site(thread, 8));
      finish_item(checkout, site(thread, 9));
    }
    item *other = take();
    if (other) finish_item(other, site(thread, 10));

    if (round % FAILED_EVERY == 0) pw__checkout_failed(pool, site(0, 11), now, now + 5000);
    if (round % SNAPSHOT_EVERY == 0) {
      pw__snapshot s;
      if (pw__snapshot_take(&s)) pw__snapshot_free(&s);
      pw__pool_metrics m;
      pw__pool_metrics_get(pool, &m);
    }
  }
  return NULL;
}

static void test_threads_with_handoffs_keep_exact_counts(void **state) {
  pool = pw__pool_find(&pool_key, PW__POOL_API, "threads");
  conns = pw__pool_find(&conns_key, PW__POOL_LIBPQ, "thread-conns");
  ASSERT_TRUE(pool && conns, "pw__pool_find failed");
  for (int i = 0; i < THREADS; i++) pw__pool_conn_opened(pool, true, 0, 1000);

  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++)
    ASSERT_EQ(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  /* What no thread picked up is finished here, by yet another thread. */
  for (item *it; (it = take());) finish_item(it, NULL);

  const long total = (long)THREADS * ROUNDS;
  const long failures = (long)THREADS * ((ROUNDS + FAILED_EVERY - 1) / FAILED_EVERY);
  pw__pool_metrics m;
  pw__pool_metrics_get(pool, &m);
  ASSERT_EQ(pw__counter_get(&pool->checkouts), total);
  ASSERT_EQ(pw__counter_get(&pool->checkins), total);
  ASSERT_EQ(pool->failed_checkouts, failures);
  ASSERT_EQ(m.checked_out, 0);
  ASSERT_EQ(m.size, THREADS);
  ASSERT_EQ(m.checked_in, THREADS);
  ASSERT_TRUE(m.peak_checked_out >= 1 && m.peak_checked_out <= total,
              "peak checked out is %ld", m.peak_checked_out);
  ASSERT_EQ(recorded(&pool->hold), total);
  ASSERT_EQ(recorded(&pool->wait), total + failures);

  pw__pool_metrics_get(conns, &m);
  ASSERT_EQ(conns->connects, total);
  ASSERT_EQ(conns->closes, total);
  ASSERT_EQ(m.size, 0);
  ASSERT_EQ(recorded(&conns->connect), total);

  pw__snapshot s;
  ASSERT_TRUE(pw__snapshot_take(&s), "pw__snapshot_take failed");
  ASSERT_EQ(s.conn_count, 0);
  ASSERT_EQ(s.checkout_count, 0);
  /* Every failure came from one call site: one finding, every time counted. */
  ASSERT_EQ(s.finding_count, 1);
  ASSERT_EQ(s.findings[0].kind, PW__FINDING_POOL_EXHAUSTED);
  ASSERT_EQ(s.findings[0].count, failures);
  pw__snapshot_free(&s);
}

/* Counts live in cells per thread; a thread that exits gives its cells up
 * and a later thread takes them over. Waves of short-lived threads, with
 * a reader summing the cells all along: the counts stay exact, and the
 * cells number no more than the threads alive at once. */
enum { WAVES = 6, WAVE_ROUNDS = 500 };
static pw__pool *wave_pool;
static char wave_key;
static atomic_bool waves_done;

static void *wave_worker(void *arg) {
  (void)arg;
  for (int round = 0; round < WAVE_ROUNDS; round++) {
    char *handle = malloc(1);
    if (!handle) abort();
    uint64_t now = pw__now_ns();
    pw__checkout_done(wave_pool, handle, site(0, round % 3), now, now + 100);
    if (!pw__checkin(wave_pool, handle, NULL, false)) abort();
    free(handle);
  }
  return NULL;
}

static void *wave_reader(void *arg) {
  (void)arg;
  uint64_t last = 0;
  while (!atomic_load(&waves_done)) {
    uint64_t now = pw__counter_get(&wave_pool->checkouts);
    if (now < last) abort(); /* a cell handed over lost its count */
    last = now;
    pw__distribution d;
    pw__histogram_summarize(&wave_pool->hold, &d);
  }
  return NULL;
}

static size_t cells_of(const pw__cells *set) {
  size_t n = 0;
  for (void *c = pw__cells_first(set); c; c = pw__cells_next(set, c)) n++;
  return n;
}

static void test_thread_cells_are_handed_over_exactly(void **state) {
  wave_pool = pw__pool_find(&wave_key, PW__POOL_API, "waves");
  ASSERT_TRUE(wave_pool != NULL, "pw__pool_find failed");
  pthread_t reader;
  ASSERT_EQ(pthread_create(&reader, NULL, wave_reader, NULL), 0);
  for (int wave = 0; wave < WAVES; wave++) {
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
      ASSERT_EQ(pthread_create(&threads[i], NULL, wave_worker, NULL), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  }
  atomic_store(&waves_done, true);
  pthread_join(reader, NULL);

  const uint64_t total = (uint64_t)WAVES * THREADS * WAVE_ROUNDS;
  ASSERT_EQ(pw__counter_get(&wave_pool->checkouts), total);
  ASSERT_EQ(pw__counter_get(&wave_pool->checkins), total);
  ASSERT_EQ(recorded(&wave_pool->hold), total);
  ASSERT_EQ(recorded(&wave_pool->wait), total);
  ASSERT_TRUE(cells_of(&wave_pool->checkouts.cells) <= THREADS,
              "%zu cells for %d threads alive at once: exited threads' cells were not reused",
              cells_of(&wave_pool->checkouts.cells), THREADS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_threads_with_handoffs_keep_exact_counts),
    cmocka_unit_test(test_thread_cells_are_handed_over_exactly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
