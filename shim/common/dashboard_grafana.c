/* The Grafana dashboard over the Prometheus metrics of metric_names.h. */
#include "common/dashboard.h"

#include <stdbool.h>

#include "common/json_writer.h"
#include "common/metric_names.h"

/* "TITLE (POOL)" for a pool's panel, "TITLE" otherwise. */
static void put_title(pw__json_writer *w, const char *title, const char *pool) {
  if (pool)
    pw__json_put_stringf(w, "title", "%s (%s)", title, pool);
  else
    pw__json_put_string(w, "title", title);
}

static void clear(pw__buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

static const char *const metric_names[] = {
#define PW__METRIC_NAME(name, type, labels, help) #name,
  PW__METRICS(PW__METRIC_NAME)
#undef PW__METRIC_NAME
};

/* How a panel's query uses its metric. Queries refer to metrics by their
 * PW__METRIC_ id, so a name missing from metric_names.h does not compile. */
typedef enum query_shape {
  QUERY_VALUE,     /* a gauge as it is */
  QUERY_RATE,      /* a counter's per-second rate */
  QUERY_MEAN,      /* a histogram's mean over the interval */
  QUERY_P95,       /* a histogram's 95th percentile over the interval */
  QUERY_BY_KIND,   /* a counter's increase, one series per kind label */
} query_shape;

typedef struct panel_query {
  query_shape shape;
  enum pw__metric_id metric;
  const char *legend; /* prefixed with the pool when panels follow $pool */
} panel_query;

typedef struct grafana_panel {
  const char *title;
  const char *unit;
  const char *description;
  panel_query queries[4];
} grafana_panel;

#define Q(shape, metric, legend) {QUERY_##shape, PW__METRIC_##metric, legend}

static const grafana_panel grafana_panels[] = {
  {"Pool Connections", "short", "Connections in use (checked out) and idle (checked in).",
   {Q(VALUE, poolwatch_pool_checked_out, "checked out"),
    Q(VALUE, poolwatch_pool_checked_in, "checked in")}},
  {"Pool Size and Overflow", "short",
   "Open connections, the configured size, and connections beyond it.",
   {Q(VALUE, poolwatch_pool_size, "size"),
    Q(VALUE, poolwatch_pool_configured_size, "configured size"),
    Q(VALUE, poolwatch_pool_overflow, "overflow")}},
  {"Pool Wait Time", "s", "Time spent waiting inside the checkout (or blocking connect) call.",
   {Q(MEAN, poolwatch_wait_seconds, "mean"), Q(P95, poolwatch_wait_seconds, "p95")}},
  {"Hold Time", "s", "Time from checkout to checkin.",
   {Q(MEAN, poolwatch_hold_seconds, "mean"), Q(P95, poolwatch_hold_seconds, "p95")}},
  {"Connect Time", "s", "Time to open a connection.",
   {Q(MEAN, poolwatch_connect_seconds, "mean"), Q(P95, poolwatch_connect_seconds, "p95")}},
  {"Pool Activity", "ops", "Checkouts, checkins, connects and closes per second.",
   {Q(RATE, poolwatch_checkouts_total, "checkouts"),
    Q(RATE, poolwatch_checkins_total, "checkins"),
    Q(RATE, poolwatch_connects_total, "connects"),
    Q(RATE, poolwatch_closes_total, "closes")}},
  {"Failures", "ops", "Checkouts refused by an exhausted pool and failed connects, per second.",
   {Q(RATE, poolwatch_checkout_failures_total, "checkout failures"),
    Q(RATE, poolwatch_connect_failures_total, "connect failures")}},
  {"Leaks and Findings", "short",
   "Checkouts held past POOLWATCH_LEAK_THRESHOLD, and new findings by kind.",
   {Q(VALUE, poolwatch_leaked_checkouts, "held too long"),
    Q(BY_KIND, poolwatch_findings_total, "{{kind}}")}},
};
#define GRAFANA_PANEL_COUNT (sizeof(grafana_panels) / sizeof(grafana_panels[0]))

enum { PANEL_WIDTH = 12, PANEL_HEIGHT = 8, GRID_WIDTH = 24 };

/* Appends the label selector: the $pool variable, or one pool by name. A
 * PromQL string literal escapes backslashes and double quotes. */
static void selector(pw__buf *expr, const char *pool) {
  if (!pool) {
    pw__buf_puts(expr, "{pool=~\"$pool\"}");
    return;
  }
  pw__buf_puts(expr, "{pool=\"");
  for (const char *p = pool; *p; p++) {
    if (*p == '\\' || *p == '"') pw__buf_puts(expr, "\\");
    pw__buf_append(expr, p, 1);
  }
  pw__buf_puts(expr, "\"}");
}

static void query_expr(pw__buf *expr, const panel_query *q, const char *pool) {
  const char *name = metric_names[q->metric];
  switch (q->shape) {
    case QUERY_VALUE:
      pw__buf_puts(expr, name);
      selector(expr, pool);
      break;
    case QUERY_RATE:
      pw__buf_printf(expr, "rate(%s", name);
      selector(expr, pool);
      pw__buf_puts(expr, "[$__rate_interval])");
      break;
    case QUERY_MEAN:
      pw__buf_printf(expr, "rate(%s_sum", name);
      selector(expr, pool);
      pw__buf_printf(expr, "[$__rate_interval]) / rate(%s_count", name);
      selector(expr, pool);
      pw__buf_puts(expr, "[$__rate_interval])");
      break;
    case QUERY_P95:
      pw__buf_printf(expr, "histogram_quantile(0.95, sum by (pool, le) (rate(%s_bucket", name);
      selector(expr, pool);
      pw__buf_puts(expr, "[$__rate_interval])))");
      break;
    case QUERY_BY_KIND:
      pw__buf_printf(expr, "sum by (pool, kind) (increase(%s", name);
      selector(expr, pool);
      pw__buf_puts(expr, "[$__rate_interval]))");
      break;
  }
}

static void datasource_ref(pw__json_writer *w) {
  pw__json_open_inline_object(w, "datasource");
  pw__json_put_string(w, "type", "prometheus");
  pw__json_put_string(w, "uid", "${datasource}");
  pw__json_close_object(w);
}

static void grid_pos(pw__json_writer *w, int x, int y, int width, int height) {
  pw__json_open_inline_object(w, "gridPos");
  pw__json_put_int(w, "h", height);
  pw__json_put_int(w, "w", width);
  pw__json_put_int(w, "x", x);
  pw__json_put_int(w, "y", y);
  pw__json_close_object(w);
}

static void grafana_timeseries(pw__json_writer *w, const grafana_panel *p, const char *pool, int id,
                               int x, int y) {
  pw__json_open_object(w, NULL);
  datasource_ref(w);
  pw__json_put_string(w, "description", p->description);
  pw__json_open_object(w, "fieldConfig");
  pw__json_open_object(w, "defaults");
  pw__json_put_string(w, "unit", p->unit);
  pw__json_put_int(w, "min", 0);
  pw__json_close_object(w);
  pw__json_open_array(w, "overrides");
  pw__json_close_array(w);
  pw__json_close_object(w);
  grid_pos(w, x, y, PANEL_WIDTH, PANEL_HEIGHT);
  pw__json_put_int(w, "id", id);
  pw__json_open_object(w, "options");
  pw__json_open_inline_object(w, "legend");
  pw__json_open_inline_array(w, "calcs");
  pw__json_close_array(w);
  pw__json_put_string(w, "displayMode", "list");
  pw__json_put_string(w, "placement", "bottom");
  pw__json_put_literal(w, "showLegend", "true");
  pw__json_close_object(w);
  pw__json_open_inline_object(w, "tooltip");
  pw__json_put_string(w, "mode", "multi");
  pw__json_put_string(w, "sort", "none");
  pw__json_close_object(w);
  pw__json_close_object(w);
  pw__json_open_array(w, "targets");
  pw__buf text;
  pw__buf_init(&text);
  for (int i = 0; i < 4 && p->queries[i].legend; i++) {
    const panel_query *q = &p->queries[i];
    pw__json_open_object(w, NULL);
    datasource_ref(w);
    pw__json_put_string(w, "editorMode", "code");
    clear(&text);
    query_expr(&text, q, pool);
    pw__json_put_string(w, "expr", text.data);
    clear(&text);
    /* A fixed pool needs no pool in the legend; the kind label already
     * names its series. */
    bool prefix = !pool && q->shape != QUERY_BY_KIND;
    pw__buf_printf(&text, "%s%s", prefix ? "{{pool}} " : "", q->legend);
    pw__json_put_string(w, "legendFormat", text.data);
    pw__json_put_literal(w, "range", "true");
    char ref_id[2] = {(char)('A' + i), '\0'};
    pw__json_put_string(w, "refId", ref_id);
    pw__json_close_object(w);
  }
  pw__buf_free(&text);
  pw__json_close_array(w);
  put_title(w, p->title, pool);
  pw__json_put_string(w, "type", "timeseries");
  pw__json_close_object(w);
}

/* Lays the panels out two by two from row Y; returns the row below them. */
static int grafana_panel_grid(pw__json_writer *w, const char *pool, int *id, int y) {
  for (size_t i = 0; i < GRAFANA_PANEL_COUNT; i++) {
    int x = (int)(i % 2) * PANEL_WIDTH;
    grafana_timeseries(w, &grafana_panels[i], pool, (*id)++, x, y + (int)(i / 2) * PANEL_HEIGHT);
  }
  return y + (int)((GRAFANA_PANEL_COUNT + 1) / 2) * PANEL_HEIGHT;
}

static void grafana_row(pw__json_writer *w, const char *pool, int id, int y) {
  pw__json_open_object(w, NULL);
  pw__json_put_literal(w, "collapsed", "false");
  grid_pos(w, 0, y, GRID_WIDTH, 1);
  pw__json_put_int(w, "id", id);
  pw__json_open_array(w, "panels");
  pw__json_close_array(w);
  pw__buf title;
  pw__buf_init(&title);
  pw__buf_printf(&title, "Pool %s", pool);
  pw__json_put_string(w, "title", title.data);
  pw__buf_free(&title);
  pw__json_put_string(w, "type", "row");
  pw__json_close_object(w);
}

static void grafana_templating(pw__json_writer *w) {
  pw__json_open_object(w, "templating");
  pw__json_open_array(w, "list");

  /* Lets the importer pick any Prometheus data source, instead of the
   * dashboard naming one that exists only on the machine that made it. */
  pw__json_open_object(w, NULL);
  pw__json_open_inline_object(w, "current");
  pw__json_close_object(w);
  pw__json_put_int(w, "hide", 0);
  pw__json_put_literal(w, "includeAll", "false");
  pw__json_put_string(w, "label", "Data source");
  pw__json_put_literal(w, "multi", "false");
  pw__json_put_string(w, "name", "datasource");
  pw__json_open_inline_array(w, "options");
  pw__json_close_array(w);
  pw__json_put_string(w, "query", "prometheus");
  pw__json_put_int(w, "refresh", 1);
  pw__json_put_string(w, "regex", "");
  pw__json_put_literal(w, "skipUrlSync", "false");
  pw__json_put_string(w, "type", "datasource");
  pw__json_close_object(w);

  static const char pool_query[] = "label_values(poolwatch_pool_size, pool)";
  pw__json_open_object(w, NULL);
  pw__json_put_string(w, "allValue", ".*");
  pw__json_open_inline_object(w, "current");
  pw__json_close_object(w);
  datasource_ref(w);
  pw__json_put_string(w, "definition", pool_query);
  pw__json_put_int(w, "hide", 0);
  pw__json_put_literal(w, "includeAll", "true");
  pw__json_put_string(w, "label", "Pool");
  pw__json_put_literal(w, "multi", "true");
  pw__json_put_string(w, "name", "pool");
  pw__json_open_inline_array(w, "options");
  pw__json_close_array(w);
  pw__json_open_inline_object(w, "query");
  pw__json_put_string(w, "query", pool_query);
  pw__json_put_string(w, "refId", "PrometheusVariableQueryEditor-VariableQuery");
  pw__json_close_object(w);
  pw__json_put_int(w, "refresh", 2);
  pw__json_put_string(w, "regex", "");
  pw__json_put_literal(w, "skipUrlSync", "false");
  pw__json_put_int(w, "sort", 1);
  pw__json_put_string(w, "type", "query");
  pw__json_close_object(w);

  pw__json_close_array(w);
  pw__json_close_object(w);
}

void pw__dashboard_grafana(pw__buf *out, const char *const *pool_names, size_t n_pools) {
  pw__json_writer w = pw__json_writer_for(out);
  pw__json_open_object(&w, NULL);

  pw__json_open_object(&w, "annotations");
  pw__json_open_array(&w, "list");
  pw__json_open_object(&w, NULL);
  pw__json_put_int(&w, "builtIn", 1);
  pw__json_open_inline_object(&w, "datasource");
  pw__json_put_string(&w, "type", "grafana");
  pw__json_put_string(&w, "uid", "-- Grafana --");
  pw__json_close_object(&w);
  pw__json_put_literal(&w, "enable", "true");
  pw__json_put_literal(&w, "hide", "true");
  pw__json_put_string(&w, "iconColor", "rgba(0, 211, 255, 1)");
  pw__json_put_string(&w, "name", "Annotations & Alerts");
  pw__json_put_string(&w, "type", "dashboard");
  pw__json_close_object(&w);
  pw__json_close_array(&w);
  pw__json_close_object(&w);

  pw__json_put_string(&w, "description", "Connection pools tracked by poolwatch (Prometheus export).");
  pw__json_put_literal(&w, "editable", "true");
  pw__json_put_int(&w, "fiscalYearStartMonth", 0);
  pw__json_put_int(&w, "graphTooltip", 1);
  pw__json_put_literal(&w, "id", "null");
  pw__json_open_inline_array(&w, "links");
  pw__json_close_array(&w);

  pw__json_open_array(&w, "panels");
  int id = 1;
  if (n_pools == 0) grafana_panel_grid(&w, NULL, &id, 0);
  int y = 0;
  for (size_t pool = 0; pool < n_pools; pool++) {
    grafana_row(&w, pool_names[pool], id++, y);
    y = grafana_panel_grid(&w, pool_names[pool], &id, y + 1);
  }
  pw__json_close_array(&w);

  pw__json_put_string(&w, "refresh", "30s");
  pw__json_put_int(&w, "schemaVersion", 39);
  pw__json_open_inline_array(&w, "tags");
  pw__json_put_string(&w, NULL, "poolwatch");
  pw__json_put_string(&w, NULL, "postgresql");
  pw__json_close_array(&w);
  grafana_templating(&w);
  pw__json_open_inline_object(&w, "time");
  pw__json_put_string(&w, "from", "now-1h");
  pw__json_put_string(&w, "to", "now");
  pw__json_close_object(&w);
  pw__json_open_inline_object(&w, "timepicker");
  pw__json_close_object(&w);
  pw__json_put_string(&w, "timezone", "browser");
  pw__json_put_string(&w, "title", PW__DASHBOARD_NAME);
  pw__json_put_string(&w, "uid", "poolwatch");
  pw__json_put_int(&w, "version", 1);
  pw__json_put_string(&w, "weekStart", "");
  pw__json_close_object(&w);
}
