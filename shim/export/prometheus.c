/* The Prometheus textfile, from the metric list in metric_names.h. */
#include "export/prometheus.h"

#include <stdatomic.h>
#include <unistd.h>

#include "common/metric_names.h"
#include "core/pool.h"
#include "core/registry.h"

static const double bucket_bounds[] = PW__METRIC_SECONDS_BUCKETS;
#define BUCKET_COUNT (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

/* A label value as the exposition format wants it: backslash, double quote
 * and line feed escaped, nothing else. A tab in a pool name once made
 * promtool reject the whole file ("invalid escape sequence '\t'", from
 * JSON escaping), and a Latin-1 byte gave "invalid label value": other
 * control characters and invalid UTF-8 become U+FFFD. */
void pw__prometheus_label_value(pw__buf *out, const char *value) {
  pw__buf_puts(out, "\"");
  for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p;) {
    size_t n = pw__utf8_sequence(p);
    if (*p == '\\')
      pw__buf_puts(out, "\\\\");
    else if (*p == '"')
      pw__buf_puts(out, "\\\"");
    else if (*p == '\n')
      pw__buf_puts(out, "\\n");
    else if (n == 1 && (*p < 0x20 || *p == 0x7f))
      pw__buf_puts(out, "\xef\xbf\xbd");
    else if (n) {
      pw__buf_append(out, (const char *)p, n);
      p += n;
      continue;
    } else
      pw__buf_puts(out, "\xef\xbf\xbd");
    p++;
  }
  pw__buf_puts(out, "\"");
}

/* Every series carries the process's pid: two processes exporting into
 * one collector directory (a service and its workers, each with its own
 * file) once made node_exporter reject both files' series as "collected
 * before with the same name and label values". */
static void label(pw__buf *out, const pw__pool *p) {
  pw__buf_puts(out, "{pool=");
  pw__prometheus_label_value(out, p->name);
  pw__buf_printf(out, ",pid=\"%d\"", (int)getpid());
}

static void sample(pw__buf *out, const char *name, const pw__pool *p, double value) {
  pw__buf_puts(out, name);
  label(out, p);
  pw__buf_printf(out, "} %.17g\n", value);
}

static void histogram(pw__buf *out, const char *name, const pw__pool *p, const pw__histogram *h) {
  /* Cumulative buckets come from the fine log-linear ones; a boundary
   * falls inside a fine bucket at most 12.5% wide, which is counted
   * below only if it lies wholly under the bound. */
  for (size_t b = 0; b < BUCKET_COUNT; b++) {
    pw__buf_printf(out, "%s_bucket", name);
    label(out, p);
    pw__buf_printf(out, ",le=\"%g\"} %llu\n", bucket_bounds[b],
                   (unsigned long long)pw__histogram_count_below(h, bucket_bounds[b]));
  }
  uint64_t count, sum_ns;
  pw__histogram_totals(h, &count, &sum_ns);
  pw__buf_printf(out, "%s_bucket", name);
  label(out, p);
  pw__buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
  pw__buf_printf(out, "%s_sum", name);
  label(out, p);
  pw__buf_printf(out, "} %.9f\n", (double)sum_ns / 1e9);
  pw__buf_printf(out, "%s_count", name);
  label(out, p);
  pw__buf_printf(out, "} %llu\n", (unsigned long long)count);
}

static void findings(pw__buf *out, const char *name, const pw__pool *p) {
  uint64_t totals[PW__FINDING_KIND_COUNT] = {0};
  pw__finding_totals(p, totals);
  for (int k = 0; k < PW__FINDING_KIND_COUNT; k++) {
    pw__buf_puts(out, name);
    label(out, p);
    pw__buf_printf(out, ",kind=\"%s\"} %llu\n", pw__finding_kind_name((pw__finding_kind)k),
                   (unsigned long long)totals[k]);
  }
}

static void metric(pw__buf *out, enum pw__metric_id id, const char *name, pw__pool *p) {
  pw__pool_metrics m;
  pw__pool_metrics_get(p, &m);
  switch (id) {
    case PW__METRIC_poolwatch_pool_size: sample(out, name, p, (double)m.size); break;
    case PW__METRIC_poolwatch_pool_checked_out: sample(out, name, p, (double)m.checked_out); break;
    case PW__METRIC_poolwatch_pool_checked_in: sample(out, name, p, (double)m.checked_in); break;
    case PW__METRIC_poolwatch_pool_overflow: sample(out, name, p, (double)m.overflow); break;
    case PW__METRIC_poolwatch_pool_configured_size:
      if (m.configured_size >= 0) sample(out, name, p, (double)m.configured_size);
      break;
    case PW__METRIC_poolwatch_connects_total: sample(out, name, p, (double)p->connects); break;
    case PW__METRIC_poolwatch_connect_failures_total:
      sample(out, name, p, (double)p->failed_connects);
      break;
    case PW__METRIC_poolwatch_closes_total: sample(out, name, p, (double)p->closes); break;
    case PW__METRIC_poolwatch_checkouts_total: sample(out, name, p, (double)pw__counter_get(&p->checkouts)); break;
    case PW__METRIC_poolwatch_checkout_failures_total:
      sample(out, name, p, (double)p->failed_checkouts);
      break;
    case PW__METRIC_poolwatch_checkins_total: sample(out, name, p, (double)pw__counter_get(&p->checkins)); break;
    case PW__METRIC_poolwatch_leaked_checkouts: sample(out, name, p, (double)p->held_too_long); break;
    case PW__METRIC_poolwatch_findings_total: findings(out, name, p); break;
    case PW__METRIC_poolwatch_wait_seconds: histogram(out, name, p, &p->wait); break;
    case PW__METRIC_poolwatch_hold_seconds: histogram(out, name, p, &p->hold); break;
    case PW__METRIC_poolwatch_connect_seconds: histogram(out, name, p, &p->connect); break;
    case PW__METRIC_COUNT: break;
  }
}

void pw__prometheus_format(pw__buf *out) {
#define PW__EMIT(name, type, labels, help)                                        \
  pw__buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", #name, help, #name, #type); \
  for (pw__pool *p = pw__pool_first(); p; p = atomic_load(&p->next))              \
    if (atomic_load(&p->used)) metric(out, PW__METRIC_##name, #name, p);
  PW__METRICS(PW__EMIT)
#undef PW__EMIT
}
