/* The registry's checkouts and findings, driven by events as the hooks
 * report them: handles, checkout and checkin, gauges and peaks, and the
 * findings they make. */
#include "registry_fixtures.h"


/* ---- checkouts ---------------------------------------------------------- */

static void test_handles_bind_to_their_connection(void **state) {
  /* libzdb's Connection_T wraps a PGconn: a checkin finds the PGconn to
   * look at its transaction state. */
  pw__pool *pool = fresh_pool(PW__POOL_LIBZDB, "bound");
  const void *handle = fresh_handle(), *conn = fresh_handle();
  const void *found_conn = NULL;
  pw__pool *found_pool = NULL;
  bool checked_out = true;
  ASSERT_TRUE(!pw__handle_lookup(handle, &found_conn, &found_pool, &checked_out),
              "an unbound handle was found");
  pw__handle_bind(handle, conn, pool);
  ASSERT_TRUE(pw__handle_lookup(handle, &found_conn, &found_pool, &checked_out),
              "a bound handle was not found");
  ASSERT_TRUE(found_conn == conn && found_pool == pool, "the handle is bound to something else");
  ASSERT_TRUE(!checked_out, "a handle never checked out is reported checked out");
  pw__checkout_done(pool, handle, NULL, 0, ms);
  pw__handle_lookup(handle, &found_conn, &found_pool, &checked_out);
  ASSERT_TRUE(checked_out, "a checked-out handle is reported checked in");
  pw__checkin(pool, handle, NULL, false);
  pw__handle_unbind(handle);
  ASSERT_TRUE(!pw__handle_lookup(handle, &found_conn, &found_pool, &checked_out),
              "an unbound handle was still found");
}

static void test_checkout_closed_ends_the_checkout(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_LIBZDB, "checkout-closed");
  const pw__stack *out = fake_stack(29), *closed_at = fake_stack(30);
  const void *h = fresh_handle(), *idle = fresh_handle();
  pw__pool_conn_opened(pool, true, 0, ms);
  pw__checkout_done(pool, h, out, 0, ms);
  pw__checkout_closed(pool, h, closed_at);
  pw__checkout_closed(pool, idle, closed_at); /* not checked out: nothing to say */
  ASSERT_EQ(metrics_of(pool).checked_out, 0);
  ASSERT_EQ(live_checkouts_in(pool), 0);
  pw__snapshot s;
  const pw__finding_record *f = find_finding(&s, PW__FINDING_CLOSED_WHILE_CHECKED_OUT, closed_at);
  ASSERT_TRUE(f != NULL, "no closed_while_checked_out finding at the close's stack");
  ASSERT_EQ(f->count, 1);
  ASSERT_TRUE(f->other == out, "the finding does not name the checkout's stack");
  pw__snapshot_free(&s);
}

static void test_checkout_gauges_and_peaks(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_API, "gauges");
  atomic_store(&pool->configured_size, 2);
  for (int i = 0; i < 3; i++) pw__pool_conn_opened(pool, true, 0, 4 * ms);
  const void *h1 = fresh_handle(), *h2 = fresh_handle(), *h3 = fresh_handle();
  const pw__stack *out = fake_stack(11), *in = fake_stack(12);

  pw__checkout_done(pool, h1, out, 0, 1 * ms);
  pw__checkout_done(pool, h2, out, 0, 2 * ms);
  pw__pool_metrics m = metrics_of(pool);
  ASSERT_EQ(m.size, 3);
  ASSERT_EQ(m.checked_out, 2);
  ASSERT_EQ(m.checked_in, 1);
  ASSERT_EQ(m.overflow, 1); /* 3 open against a configured size of 2 */
  ASSERT_TRUE(pw__is_checked_out(h1), "h1 is not checked out after its checkout");

  ASSERT_TRUE(pw__checkin(pool, h1, in, false), "checkin of h1 returned false");
  pw__checkout_done(pool, h3, out, 0, 3 * ms);
  pw__checkout_done(pool, h1, out, 0, 4 * ms);
  m = metrics_of(pool);
  ASSERT_EQ(m.checked_out, 3);
  ASSERT_EQ(m.checked_in, 0);
  ASSERT_EQ(m.peak_checked_out, 3);
  ASSERT_EQ(live_checkouts_in(pool), 3);

  ASSERT_TRUE(pw__checkin(pool, h1, in, false), "checkin of h1 returned false");
  ASSERT_TRUE(pw__checkin(pool, h2, in, false), "checkin of h2 returned false");
  ASSERT_TRUE(pw__checkin(pool, h3, in, false), "checkin of h3 returned false");
  m = metrics_of(pool);
  ASSERT_EQ(m.checked_out, 0);
  ASSERT_EQ(m.checked_in, 3);
  ASSERT_EQ(m.peak_checked_out, 3);
  ASSERT_EQ(m.peak_size, 3);
  ASSERT_NEAR(m.wait_time, 2.5e-3, 1e-9); /* mean of 1, 2, 3 and 4 ms */
  ASSERT_EQ(pw__counter_get(&pool->checkouts), 4);
  ASSERT_EQ(pw__counter_get(&pool->checkins), 4);
  ASSERT_EQ(recorded(&pool->hold), 4);
  uint64_t hold_ns, holds;
  pw__stack_hold_totals(out, &hold_ns, &holds);
  ASSERT_EQ(holds, 4); /* hold totals per call site */
  ASSERT_TRUE(!pw__is_checked_out(h1), "h1 is still checked out after its checkin");
  ASSERT_EQ(live_checkouts_in(pool), 0);

  pw__pool_conn_closed(pool, NULL, NULL);
  m = metrics_of(pool);
  ASSERT_EQ(m.size, 2);
  ASSERT_EQ(m.overflow, 0);
  ASSERT_EQ(pool->closes, 1);
}

static void test_double_checkin(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_API, "double-checkin");
  const pw__stack *out = fake_stack(13), *first_in = fake_stack(14), *second_in = fake_stack(15);
  const void *h = fresh_handle();
  pw__pool_conn_opened(pool, true, 0, ms);
  pw__checkout_done(pool, h, out, 0, ms);
  ASSERT_TRUE(pw__checkin(pool, h, first_in, false), "the first checkin returned false");
  ASSERT_TRUE(!pw__checkin(pool, h, second_in, false), "the second checkin returned true");
  pw__pool_metrics m = metrics_of(pool);
  ASSERT_EQ(m.checked_out, 0); /* not -1 */
  ASSERT_EQ(m.checked_in, 1);
  ASSERT_EQ(pw__counter_get(&pool->checkins), 1);

  pw__snapshot s;
  const pw__finding_record *f = find_finding(&s, PW__FINDING_DOUBLE_CHECKIN, second_in);
  ASSERT_TRUE(f != NULL, "no double_checkin finding at the second checkin's stack");
  ASSERT_TRUE(f->pool == pool, "the double_checkin finding names another pool");
  /* registry.h: the other stack of a double checkin is its checkout's. */
  ASSERT_TRUE(f->other == out, "the finding does not name the checkout's stack");
  ASSERT_EQ(f->count, 1);
  pw__snapshot_free(&s);
}

static void test_checkin_in_transaction(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_API, "in-transaction");
  const pw__stack *out = fake_stack(16), *in = fake_stack(17);
  const void *h = fresh_handle();
  pw__pool_conn_opened(pool, true, 0, ms);
  pw__checkout_done(pool, h, out, 0, ms);
  /* Still a checkin: the pool takes the connection back (and rolls back). */
  ASSERT_TRUE(pw__checkin(pool, h, in, true), "checkin with a transaction open returned false");
  ASSERT_EQ(metrics_of(pool).checked_out, 0);
  ASSERT_EQ(pw__counter_get(&pool->checkins), 1);

  pw__snapshot s;
  const pw__finding_record *f = find_finding(&s, PW__FINDING_CHECKIN_IN_TRANSACTION, in);
  ASSERT_TRUE(f != NULL, "no checkin_in_transaction finding at the checkin's stack");
  ASSERT_TRUE(f->pool == pool, "the finding names another pool");
  ASSERT_TRUE(f->other == out, "the finding does not name the checkout's stack");
  pw__snapshot_free(&s);
}

static void test_pool_exhausted_groups_holders_by_stack(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_API, "exhausted");
  const pw__stack *reports = fake_stack(18), *reports_too = fake_stack(19);
  const pw__stack *failed_at = fake_stack(20);
  const void *held[5];
  for (int i = 0; i < 5; i++) {
    held[i] = fresh_handle();
    pw__pool_conn_opened(pool, true, 0, ms);
    pw__checkout_done(pool, held[i], i < 3 ? reports : reports_too, 0, ms);
  }
  pw__checkout_failed(pool, failed_at, 0, 30 * ms);
  ASSERT_EQ(pool->failed_checkouts, 1);
  ASSERT_EQ(pw__counter_get(&pool->checkouts), 5);
  ASSERT_EQ(recorded(&pool->wait), 6); /* the failed wait counts too */
  pw__distribution wait;
  pw__histogram_summarize(&pool->wait, &wait);
  ASSERT_NEAR(wait.max, 0.030, 1e-9);

  pw__snapshot s;
  const pw__finding_record *f = find_finding(&s, PW__FINDING_POOL_EXHAUSTED, failed_at);
  ASSERT_TRUE(f != NULL, "no pool_exhausted finding at the failed checkout's stack");
  ASSERT_TRUE(f->pool == pool, "the finding names another pool");
  ASSERT_EQ(f->holder_count, 2);
  size_t by_reports = 0, by_reports_too = 0;
  for (size_t i = 0; i < f->holder_count; i++) {
    if (f->holders[i].stack == reports) by_reports = f->holders[i].count;
    if (f->holders[i].stack == reports_too) by_reports_too = f->holders[i].count;
  }
  ASSERT_EQ(by_reports, 3);
  ASSERT_EQ(by_reports_too, 2);
  pw__snapshot_free(&s);

  pw__checkout_failed(pool, failed_at, 0, ms);
  f = find_finding(&s, PW__FINDING_POOL_EXHAUSTED, failed_at);
  ASSERT_TRUE(f != NULL, "the pool_exhausted finding disappeared");
  ASSERT_EQ(f->count, 2);
  pw__snapshot_free(&s);
  for (int i = 0; i < 5; i++) pw__checkin(pool, held[i], NULL, false);
}

static void test_closed_while_checked_out(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_API, "closed-while-out");
  const pw__stack *out = fake_stack(21), *closed_at = fake_stack(22);
  const void *h = fresh_handle();
  pw__pool_conn_opened(pool, true, 0, ms);
  pw__checkout_done(pool, h, out, 0, ms);
  pw__pool_conn_closed(pool, h, closed_at);
  pw__pool_metrics m = metrics_of(pool);
  ASSERT_EQ(m.size, 0);
  ASSERT_EQ(m.checked_out, 0);
  ASSERT_EQ(live_checkouts_in(pool), 0);

  pw__snapshot s;
  const pw__finding_record *f = find_finding(&s, PW__FINDING_CLOSED_WHILE_CHECKED_OUT, closed_at);
  ASSERT_TRUE(f != NULL, "no closed_while_checked_out finding at the close's stack");
  ASSERT_TRUE(f->other == out, "the finding does not name the checkout's stack");
  pw__snapshot_free(&s);
}

static void test_pool_stopped_with_checkouts(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_LIBZDB, "stopped");
  const pw__stack *out = fake_stack(23), *stopped_at = fake_stack(24);
  pw__pool *other = fresh_pool(PW__POOL_LIBZDB, "bystander");
  const void *h1 = fresh_handle(), *h2 = fresh_handle(), *kept = fresh_handle();
  pw__checkout_done(pool, h1, out, 0, ms);
  pw__checkout_done(pool, h2, out, 0, ms);
  pw__checkout_done(other, kept, out, 0, ms);
  pw__pool_stopped(pool, stopped_at);
  ASSERT_TRUE(atomic_load(&pool->stopped), "the pool is not marked stopped");
  ASSERT_EQ(metrics_of(pool).checked_out, 0);
  ASSERT_EQ(live_checkouts_in(pool), 0);
  ASSERT_EQ(live_checkouts_in(other), 1); /* another pool's checkouts stay */

  pw__snapshot s;
  const pw__finding_record *f = find_finding(&s, PW__FINDING_CLOSED_WHILE_CHECKED_OUT, stopped_at);
  ASSERT_TRUE(f != NULL, "no closed_while_checked_out finding at the stop's stack");
  ASSERT_EQ(f->count, 2);
  pw__snapshot_free(&s);
  pw__checkin(other, kept, NULL, false);
}

/* ---- fork ---------------------------------------------------------------- */

/* cmocka's assertions cannot report from a child: it prints what failed
 * and exits non-zero, and the parent asserts on the exit status. */
#define CHILD_CHECK(cond)                                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "fork child: check failed at line %d: %s\n", __LINE__, #cond); \
      _exit(1);                                                              \
    }                                                                        \
  } while (0)

static void test_fork_child_excludes_inherited_entries(void **state) {
  pw__pool *conns = fresh_pool(PW__POOL_LIBPQ, "fork-conns");
  pw__pool *pool = fresh_pool(PW__POOL_API, "fork-pool");
  const pw__stack *parent_at = fake_stack(25), *child_at = fake_stack(26);
  const void *inherited_conn = fresh_handle(), *inherited_checkout = fresh_handle();
  const void *child_conn = fresh_handle();
  pw__conn_opened(conns, inherited_conn, parent_at, NULL, PW__CONNECTED, true, 0, ms);
  pw__pool_conn_opened(pool, true, 0, ms);
  pw__checkout_done(pool, inherited_checkout, parent_at, 0, ms);
  pw__checkin(pool, fresh_handle(), parent_at, false); /* a parent finding */

  fflush(NULL);
  pid_t pid = fork();
  ASSERT_TRUE(pid >= 0, "fork failed");
  if (pid == 0) {
    /* What lifecycle.c's pthread_atfork child handler does. */
    pw__registry_atfork_child();
    pw__stack_atfork_child();
    pw__pool_reset_all();

    pw__snapshot s;
    CHILD_CHECK(pw__snapshot_take(&s));
    CHILD_CHECK(s.conn_count == 0);
    CHILD_CHECK(s.checkout_count == 0);
    CHILD_CHECK(s.finding_count == 0); /* the parent's findings are the parent's */
    pw__snapshot_free(&s);
    CHILD_CHECK(!pw__registry_used());
    CHILD_CHECK(metrics_of(conns).size == 0);

    /* Finishing an inherited PGconn is allowed and is no double finish. */
    CHILD_CHECK(pw__conn_finishing(inherited_conn, child_at));
    CHILD_CHECK(conns->closes == 0);
    CHILD_CHECK(metrics_of(conns).size == 0);
    /* Returning an inherited checkout neither counts nor goes negative. */
    CHILD_CHECK(pw__checkin(pool, inherited_checkout, child_at, false));
    CHILD_CHECK(pw__counter_get(&pool->checkins) == 0);
    CHILD_CHECK(metrics_of(pool).checked_out == 0);

    /* The child's own connections are its own. */
    pw__conn_opened(conns, child_conn, child_at, NULL, PW__CONNECTED, true, 0, ms);
    CHILD_CHECK(pw__snapshot_take(&s));
    CHILD_CHECK(s.conn_count == 1 && s.conns[0].conn == child_conn);
    CHILD_CHECK(s.finding_count == 0);
    pw__snapshot_free(&s);
    CHILD_CHECK(metrics_of(conns).size == 1);
    CHILD_CHECK(pw__registry_used());
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "a check in the fork child failed (see its line above)");

  /* The child's events did not touch the parent's registry. */
  ASSERT_EQ(live_conns_in(conns), 1);
  ASSERT_EQ(live_checkouts_in(pool), 1);
  ASSERT_EQ(metrics_of(conns).size, 1);
  pw__conn_finishing(inherited_conn, NULL);
  pw__checkin(pool, inherited_checkout, NULL, false);
}

/* ---- observers ------------------------------------------------------------- */

static int checkout_events, checkin_events;
static const void *last_event_id;

static void count_events(const pw__event *e) {
  if (strcmp(e->what, "checkout") == 0) checkout_events++;
  if (strcmp(e->what, "checkin") == 0) checkin_events++;
  last_event_id = e->id;
}

static void test_sink_sees_checkout_and_checkin(void **state) {
  pw__pool *pool = fresh_pool(PW__POOL_API, "sink");
  const void *h = fresh_handle();
  pw__registry_set_sink(count_events);
  pw__checkout_done(pool, h, NULL, 0, ms);
  pw__checkin(pool, h, NULL, false);
  pw__registry_set_sink(NULL);
  pw__checkout_done(pool, h, NULL, 0, ms); /* no sink: nothing counted */
  pw__checkin(pool, h, NULL, false);
  ASSERT_EQ(checkout_events, 1);
  ASSERT_EQ(checkin_events, 1);
  ASSERT_TRUE(last_event_id == h, "the event does not carry the handle");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_handles_bind_to_their_connection),
    cmocka_unit_test(test_checkout_closed_ends_the_checkout),
    cmocka_unit_test(test_checkout_gauges_and_peaks),
    cmocka_unit_test(test_double_checkin),
    cmocka_unit_test(test_checkin_in_transaction),
    cmocka_unit_test(test_pool_exhausted_groups_holders_by_stack),
    cmocka_unit_test(test_closed_while_checked_out),
    cmocka_unit_test(test_pool_stopped_with_checkouts),
    cmocka_unit_test(test_fork_child_excludes_inherited_entries),
    cmocka_unit_test(test_sink_sees_checkout_and_checkin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
