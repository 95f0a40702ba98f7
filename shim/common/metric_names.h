/* The Prometheus metrics poolwatch publishes, in one list, so the exporter
 * (names, # TYPE and # HELP lines), the Grafana dashboard's queries and the
 * test that checks those queries cannot drift apart.
 *
 * Each entry is X(NAME, TYPE, LABELS, HELP):
 *   NAME    the metric name as a bare token (#NAME gives the string);
 *   TYPE    gauge, counter or histogram, as a bare token (#TYPE gives the
 *           word the exposition format's # TYPE line wants);
 *   LABELS  the labels every sample carries, comma-separated;
 *   HELP    the # HELP text.
 * Units are base units (seconds); counters end in _total and histograms in
 * _seconds, as Prometheus' naming conventions ask. A histogram is published
 * as NAME_bucket{le=...}, NAME_sum and NAME_count. */
#ifndef POOLWATCH_METRIC_NAMES_H
#define POOLWATCH_METRIC_NAMES_H

#define PW__METRICS(X)                                                                        \
  X(poolwatch_pool_size, gauge, "pool",                                                       \
    "Connections currently open in the pool, checked in plus checked out.")                   \
  X(poolwatch_pool_checked_out, gauge, "pool",                                                \
    "Connections currently in use by the application.")                                       \
  X(poolwatch_pool_checked_in, gauge, "pool", "Connections currently idle in the pool.")      \
  X(poolwatch_pool_overflow, gauge, "pool",                                                   \
    "Connections open beyond the pool's configured size.")                                    \
  X(poolwatch_pool_configured_size, gauge, "pool",                                            \
    "The pool's configured size; absent when the pool has none.")                             \
  X(poolwatch_connects_total, counter, "pool", "Connections opened, failed ones included.")   \
  X(poolwatch_connect_failures_total, counter, "pool", "Connection attempts that failed.")    \
  X(poolwatch_closes_total, counter, "pool", "Connections closed.")                           \
  X(poolwatch_checkouts_total, counter, "pool", "Connections checked out of the pool.")       \
  X(poolwatch_checkout_failures_total, counter, "pool",                                       \
    "Checkouts that failed or timed out because the pool was exhausted.")                     \
  X(poolwatch_checkins_total, counter, "pool", "Connections returned to the pool.")           \
  X(poolwatch_leaked_checkouts, gauge, "pool",                                                \
    "Checkouts currently held longer than POOLWATCH_LEAK_THRESHOLD.")                         \
  X(poolwatch_findings_total, counter, "pool,kind",                                           \
    "Findings that are not leaks (pool_exhausted, double_checkin, held_too_long, ...).")      \
  X(poolwatch_wait_seconds, histogram, "pool",                                                \
    "Time a request waited inside the checkout (or blocking connect) call.")                  \
  X(poolwatch_hold_seconds, histogram, "pool", "Time from checkout to checkin.")              \
  X(poolwatch_connect_seconds, histogram, "pool",                                             \
    "Time to open a connection, until it was ready or failed.")

/* PW__METRIC_poolwatch_pool_size and so on: lets code that builds queries
 * refer to a metric in a way the compiler checks against the list. */
enum pw__metric_id {
#define PW__METRIC_ENUM(name, type, labels, help) PW__METRIC_##name,
  PW__METRICS(PW__METRIC_ENUM)
#undef PW__METRIC_ENUM
  PW__METRIC_COUNT
};

/* Upper bounds, in seconds, of the histograms' buckets (+Inf is implied).
 * They span a fast local checkout (~100us) to a connect that times out. */
#define PW__METRIC_SECONDS_BUCKETS \
  {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

#endif
