/* The registry's connections and pool metrics, driven by events as the
 * hooks report them: opening, finishing, resets, adoption by a pool. */
#include "registry_fixtures.h"

/* ---- connections ------------------------------------------------------- */

static void test_connections_open_and_finish(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_LIBPQ, "conns");
  const pw__stack *opened_at = fake_stack(1), *finished_at = fake_stack(2);
  const void *a = fresh_handle(), *b = fresh_handle(), *c = fresh_handle(),
             *failed = fresh_handle();
  pw__conn_opened(pool, a, opened_at, NULL, PW__CONNECTED, true, 0, 3 * ms);
  pw__conn_opened(pool, b, opened_at, NULL, PW__CONNECTED, true, 0, 5 * ms);
  pw__conn_opened(pool, c, opened_at, NULL, PW__CONNECTED, true, 0, 7 * ms);
  /* A failed connect still returns a PGconn that must be finished, but it
   * holds no server connection: not counted in pool.size. */
  pw__conn_opened(pool, failed, opened_at, NULL, PW__FAILED, true, 0, 1 * ms);

  pw__pool_metrics m = metrics_of(pool);
  ASSERT_EQ(m.size, 3);
  ASSERT_EQ(m.checked_out, 3); /* for libpq every open connection is in use */
  ASSERT_EQ(m.checked_in, 0);
  ASSERT_EQ(m.overflow, 0);    /* no configured size: never overflows */
  ASSERT_EQ(pool->connects, 4);
  ASSERT_EQ(pool->failed_connects, 1);
  ASSERT_EQ(recorded(&pool->connect), 3);
  ASSERT_EQ(recorded(&pool->wait), 4);
  ASSERT_EQ(live_conns_in(pool), 4);
  ASSERT_TRUE(pw__registry_used(), "the registry says it saw no event");

  ASSERT_TRUE(pw__conn_finishing(a, finished_at), "finishing an open connection returned false");
  ASSERT_TRUE(pw__conn_finishing(b, finished_at), "finishing an open connection returned false");
  ASSERT_TRUE(pw__conn_finishing(failed, finished_at), "finishing a failed connection returned false");
  m = metrics_of(pool);
  ASSERT_EQ(m.size, 1);
  ASSERT_EQ(m.peak_size, 3);
  ASSERT_EQ(m.peak_checked_out, 3);
  ASSERT_EQ(pool->closes, 3);
  ASSERT_EQ(live_conns_in(pool), 1);

  ASSERT_TRUE(pw__conn_finishing(c, finished_at), "finishing the last connection returned false");
  ASSERT_EQ(metrics_of(pool).size, 0);
  ASSERT_EQ(live_conns_in(pool), 0);
}

static void test_conninfo_is_kept_with_the_connection(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_LIBPQ, "conninfo");
  const void *conn = fresh_handle();
  char *conninfo = pw__redact_conninfo("host=db user=app password=x");
  pw__conn_opened(pool, conn, fake_stack(3), conninfo, PW__CONNECTED, true, 0, ms);
  pw__snapshot s;
  ASSERT_TRUE(pw__snapshot_take(&s), "pw__snapshot_take failed");
  const char *seen = NULL;
  for (size_t i = 0; i < s.conn_count; i++)
    if (s.conns[i].conn == conn) seen = s.conns[i].conninfo;
  ASSERT_STR_EQ(seen, "host=db user=app password=***");
  ASSERT_TRUE(seen != conninfo, "the snapshot shares the registry's string instead of copying it");
  pw__snapshot_free(&s);
  pw__conn_finishing(conn, NULL);
}

static void test_async_connect_counts_once_connected(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_LIBPQ, "async");
  const void *ok = fresh_handle(), *bad = fresh_handle();
  pw__conn_opened(pool, ok, fake_stack(4), NULL, PW__CONNECTING, false, 0, 0);
  pw__conn_opened(pool, bad, fake_stack(4), NULL, PW__CONNECTING, false, 0, 0);
  ASSERT_EQ(metrics_of(pool).size, 0);
  ASSERT_EQ(live_conns_in(pool), 2); /* open (and leakable) from its start */

  pw__conn_connect_done(ok, true, 20 * ms);
  pw__conn_connect_done(bad, false, 30 * ms);
  ASSERT_EQ(metrics_of(pool).size, 1);
  ASSERT_EQ(pool->connects, 2);
  ASSERT_EQ(pool->failed_connects, 1);
  ASSERT_EQ(recorded(&pool->connect), 1);
  pw__distribution connect;
  pw__histogram_summarize(&pool->connect, &connect);
  ASSERT_NEAR(connect.max, 0.020, 1e-9);
  ASSERT_EQ(recorded(&pool->wait), 0); /* nobody blocked in an async connect */

  pw__conn_finishing(ok, NULL);
  pw__conn_finishing(bad, NULL);
  ASSERT_EQ(metrics_of(pool).size, 0);
}

static void test_reset_is_a_reconnect_not_a_new_connection(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_LIBPQ, "reset");
  const void *conn = fresh_handle();
  pw__conn_opened(pool, conn, fake_stack(5), NULL, PW__CONNECTED, true, 0, ms);
  pw__conn_reset(conn, PW__CONNECTED, 10 * ms, 12 * ms);
  pw__conn_reset(conn, PW__CONNECTED, 20 * ms, 22 * ms);
  ASSERT_EQ(metrics_of(pool).size, 1);
  ASSERT_EQ(pool->connects, 1);
  ASSERT_EQ(pool->reconnects, 2);

  /* A reset that fails leaves no server connection behind. */
  pw__conn_reset(conn, PW__FAILED, 30 * ms, 31 * ms);
  ASSERT_EQ(metrics_of(pool).size, 0);
  ASSERT_EQ(pool->failed_connects, 1);
  ASSERT_EQ(live_conns_in(pool), 1);
  pw__conn_finishing(conn, NULL);
  ASSERT_EQ(metrics_of(pool).size, 0);
}

static void test_libpq_overflow_uses_configured_size(void **state) {
  pw__pool *libpq = pw__pool_libpq();
  long size_before = metrics_of(libpq).size;
  pw__pool_set_libpq_size(size_before + 1);
  const void *conns[3] = {fresh_handle(), fresh_handle(), fresh_handle()};
  for (int i = 0; i < 3; i++)
    pw__conn_opened(libpq, conns[i], fake_stack(6), NULL, PW__CONNECTED, true, 0, ms);
  pw__pool_metrics m = metrics_of(libpq);
  ASSERT_EQ(m.configured_size, size_before + 1);
  ASSERT_EQ(m.overflow, 2);
  for (int i = 0; i < 3; i++) pw__conn_finishing(conns[i], NULL);
  ASSERT_EQ(metrics_of(libpq).overflow, 0);
  pw__pool_set_libpq_size(-1);
}

static void test_double_finish_names_both_stacks(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_LIBPQ, "double-finish");
  const pw__stack *first = fake_stack(7), *second = fake_stack(8);
  const void *conn = fresh_handle();
  pw__conn_opened(pool, conn, fake_stack(9), NULL, PW__CONNECTED, true, 0, ms);
  ASSERT_TRUE(pw__conn_finishing(conn, first), "the first finish returned false");
  /* false tells the hook not to forward: libpq would free twice. */
  ASSERT_TRUE(!pw__conn_finishing(conn, second), "the second finish returned true");
  ASSERT_EQ(pool->closes, 1);
  ASSERT_EQ(metrics_of(pool).size, 0);

  pw__snapshot s;
  const pw__finding_record *f = find_finding(&s, PW__FINDING_DOUBLE_FINISH, second);
  ASSERT_TRUE(f != NULL, "no double_finish finding at the second finish's stack");
  ASSERT_TRUE(f->other == first, "the finding does not name the first finish's stack");
  ASSERT_EQ(f->count, 1);
  pw__snapshot_free(&s);

  ASSERT_TRUE(!pw__conn_finishing(conn, second), "a third finish returned true");
  f = find_finding(&s, PW__FINDING_DOUBLE_FINISH, second);
  ASSERT_TRUE(f != NULL, "the double_finish finding disappeared");
  ASSERT_EQ(f->count, 2);
  pw__snapshot_free(&s);
}

static void test_finish_of_unknown_connection_is_not_judged(void **state) {
  /* A PGconn opened before the shim loaded, or by an untracked path. */
  const pw__stack *at = fake_stack(10);
  ASSERT_TRUE(pw__conn_finishing(fresh_handle(), at), "finishing an unknown PGconn returned false");
  pw__snapshot s;
  ASSERT_TRUE(find_finding(&s, PW__FINDING_DOUBLE_FINISH, at) == NULL,
              "finishing an unknown PGconn was reported as a double finish");
  pw__snapshot_free(&s);
}

/* Do H's buckets, summed over its threads' cells, add up to its count,
 * with none gone below zero? (A value may be taken back in another cell
 * than it went into; only the sums mean anything.) */
static bool histogram_consistent(const pw__histogram *h) {
  uint64_t total = 0, count = recorded(h);
  for (int b = 0; b < PW__HISTOGRAM_BUCKETS; b++) {
    uint64_t in_bucket = 0;
    for (const pw__histogram_cell *c = pw__cells_first(&h->cells); c;
         c = pw__cells_next(&h->cells, c))
      in_bucket += pw__cell_get(&c->buckets[b]);
    if (in_bucket > count) return false;
    total += in_bucket;
  }
  return total == count;
}

static uint64_t recorded_ns(const pw__histogram *h) {
  uint64_t count, sum_ns;
  pw__histogram_totals(h, &count, &sum_ns);
  return sum_ns;
}

static void test_adopted_connection_moves_to_its_pool(void **state) {
  /* An annotated pool that opens its connections with PQconnectdb: each
   * belongs to that pool, not to libpq. */
  pw__pool *from = fresh_pool(PW__POOL_LIBPQ, "adopt-from");
  pw__pool *to = fresh_pool(PW__POOL_API, "adopt-to");
  const void *conn = fresh_handle();
  pw__conn_opened(from, conn, fake_stack(27), NULL, PW__CONNECTED, true, 0, 4 * ms);
  ASSERT_TRUE(pw__conn_adopt(conn, to), "adopting a live PGconn returned false");
  ASSERT_EQ(metrics_of(from).size, 0);
  ASSERT_EQ(from->connects, 0);
  ASSERT_EQ(recorded(&from->connect), 0);
  ASSERT_EQ(recorded(&from->wait), 0);
  ASSERT_TRUE(histogram_consistent(&from->connect), "libpq's connect histogram is inconsistent");
  ASSERT_EQ(metrics_of(to).size, 1);
  ASSERT_EQ(to->connects, 1);
  ASSERT_EQ(recorded(&to->connect), 1);
  ASSERT_EQ(live_conns_in(to), 1);
  ASSERT_EQ(live_conns_in(from), 0);
  ASSERT_TRUE(!pw__conn_adopt(fresh_handle(), to), "adopting an unknown PGconn returned true");

  pw__conn_finishing(conn, NULL);
  ASSERT_EQ(metrics_of(to).size, 0);
  ASSERT_EQ(to->closes, 1);
  ASSERT_EQ(from->closes, 0);
}

static void test_adopting_a_failed_connection_moves_its_failure(void **state) {
  /* A pool's PQconnectdb failed, and the pool says so (ok = 0): the failed
   * connect is the pool's, so libpq's counters must not keep half of it. */
  pw__pool *from = fresh_pool(PW__POOL_LIBPQ, "adopt-failed-from");
  pw__pool *to = fresh_pool(PW__POOL_API, "adopt-failed-to");
  const void *conn = fresh_handle();
  pw__conn_opened(from, conn, fake_stack(31), NULL, PW__FAILED, true, 0, 2 * ms);
  ASSERT_TRUE(pw__conn_adopt(conn, to), "adopting a failed PGconn returned false");
  ASSERT_EQ(from->connects, 0);
  ASSERT_EQ(from->failed_connects, 0);
  ASSERT_EQ(to->connects, 1);
  ASSERT_EQ(to->failed_connects, 1);
  ASSERT_EQ(metrics_of(to).size, 0);
  pw__conn_finishing(conn, NULL);
}

static void test_adopting_an_async_connection_keeps_distributions_whole(void **state) {
  /* Connected with PQconnectStart and PQconnectPoll, then handed to the
   * pool: its connect time moves, and both histograms stay consistent
   * (every bucket count adds up to the total count). */
  pw__pool *from = fresh_pool(PW__POOL_LIBPQ, "adopt-async-from");
  pw__pool *to = fresh_pool(PW__POOL_API, "adopt-async-to");
  const void *conn = fresh_handle();
  pw__conn_opened(from, conn, fake_stack(28), NULL, PW__CONNECTING, false, 0, 0);
  pw__conn_connect_done(conn, true, 7 * ms);
  ASSERT_EQ(recorded(&from->connect), 1);
  ASSERT_TRUE(pw__conn_adopt(conn, to), "adopting a live PGconn returned false");
  ASSERT_EQ(recorded(&from->connect), 0);
  ASSERT_TRUE(histogram_consistent(&from->connect),
              "the first pool's connect histogram has a bucket below zero");
  ASSERT_EQ(recorded_ns(&from->connect), 0);
  ASSERT_EQ(recorded(&to->connect), 1);
  ASSERT_TRUE(histogram_consistent(&to->connect), "the pool's connect histogram is inconsistent");
  ASSERT_EQ(recorded_ns(&to->connect), 7 * ms);
  pw__conn_finishing(conn, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_connections_open_and_finish),
    cmocka_unit_test(test_conninfo_is_kept_with_the_connection),
    cmocka_unit_test(test_async_connect_counts_once_connected),
    cmocka_unit_test(test_reset_is_a_reconnect_not_a_new_connection),
    cmocka_unit_test(test_libpq_overflow_uses_configured_size),
    cmocka_unit_test(test_double_finish_names_both_stacks),
    cmocka_unit_test(test_finish_of_unknown_connection_is_not_judged),
    cmocka_unit_test(test_adopted_connection_moves_to_its_pool),
    cmocka_unit_test(test_adopting_a_failed_connection_moves_its_failure),
    cmocka_unit_test(test_adopting_an_async_connection_keeps_distributions_whole),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
