/* The Grafana dashboard over the metrics of metric_names.h, built with jansson. */
#include "dashboard_grafana.h"

#include <stdbool.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/dashboard.h"
#include "common/metric_names.h"

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
  /* The value the Prometheus file carries (export/prometheus.c): a newline
   * as \n, other control characters and invalid UTF-8 as U+FFFD, so the
   * query finds the series of a pool with such a name. */
  for (const unsigned char *p = (const unsigned char *)pool; *p;) {
    size_t n = pw__utf8_sequence(p);
    if (*p == '\\' || *p == '"') {
      pw__buf_puts(expr, "\\");
      pw__buf_append(expr, (const char *)p, 1);
    } else if (*p == '\n') {
      pw__buf_puts(expr, "\\n");
    } else if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
      pw__buf_puts(expr, "\xef\xbf\xbd");
    } else {
      pw__buf_append(expr, (const char *)p, n);
      p += n;
      continue;
    }
    p++;
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

static json_t *datasource_ref(void) {
  return json_pack("{s:s, s:s}", "type", "prometheus", "uid", "${datasource}");
}

static json_t *grid_pos(int x, int y, int width, int height) {
  return json_pack("{s:i, s:i, s:i, s:i}", "h", height, "w", width, "x", x, "y", y);
}

/* "TITLE (POOL)" for a pool's panel, "TITLE" otherwise. */
static json_t *title_of(const char *title, const char *pool) {
  if (!pool) return json_string(title);
  pw__buf text;
  pw__buf_init(&text);
  pw__buf_printf(&text, "%s (%s)", title, pool);
  json_t *value = text.data ? json_string(text.data) : NULL;
  pw__buf_free(&text);
  return value;
}

static json_t *target(const panel_query *q, const char *pool, int index) {
  pw__buf expr, legend;
  pw__buf_init(&expr);
  pw__buf_init(&legend);
  query_expr(&expr, q, pool);
  /* A fixed pool needs no pool in the legend; the kind label already
   * names its series. */
  bool prefix = !pool && q->shape != QUERY_BY_KIND;
  pw__buf_printf(&legend, "%s%s", prefix ? "{{pool}} " : "", q->legend);
  char ref_id[2] = {(char)('A' + index), '\0'};
  json_t *t = expr.data && legend.data
                  ? json_pack("{s:o, s:s, s:s, s:s, s:b, s:s}", "datasource", datasource_ref(),
                              "editorMode", "code", "expr", expr.data, "legendFormat",
                              legend.data, "range", 1, "refId", ref_id)
                  : NULL;
  pw__buf_free(&expr);
  pw__buf_free(&legend);
  return t;
}

static json_t *timeseries(const grafana_panel *p, const char *pool, int id, int x, int y) {
  json_t *targets = json_array();
  for (int i = 0; i < 4 && p->queries[i].legend; i++)
    json_array_append_new(targets, target(&p->queries[i], pool, i));
  return json_pack(
      "{s:o, s:s, s:{s:{s:s, s:i}, s:[]}, s:o, s:i, s:{s:{s:[], s:s, s:s, s:b}, s:{s:s, s:s}},"
      " s:o, s:o, s:s}",
      "datasource", datasource_ref(), "description", p->description,
      "fieldConfig", "defaults", "unit", p->unit, "min", 0, "overrides",
      "gridPos", grid_pos(x, y, PANEL_WIDTH, PANEL_HEIGHT), "id", id,
      "options", "legend", "calcs", "displayMode", "list", "placement", "bottom", "showLegend", 1,
      "tooltip", "mode", "multi", "sort", "none",
      "targets", targets, "title", title_of(p->title, pool), "type", "timeseries");
}

/* Lays the panels out two by two from row Y; returns the row below them. */
static int panel_grid(json_t *panels, const char *pool, int *id, int y) {
  for (size_t i = 0; i < GRAFANA_PANEL_COUNT; i++) {
    int x = (int)(i % 2) * PANEL_WIDTH;
    json_array_append_new(panels, timeseries(&grafana_panels[i], pool, (*id)++, x,
                                             y + (int)(i / 2) * PANEL_HEIGHT));
  }
  return y + (int)((GRAFANA_PANEL_COUNT + 1) / 2) * PANEL_HEIGHT;
}

static json_t *row(const char *pool, int id, int y) {
  pw__buf title;
  pw__buf_init(&title);
  pw__buf_printf(&title, "Pool %s", pool);
  json_t *r = title.data ? json_pack("{s:b, s:o, s:i, s:[], s:s, s:s}", "collapsed", 0,
                                     "gridPos", grid_pos(0, y, GRID_WIDTH, 1), "id", id,
                                     "panels", "title", title.data, "type", "row")
                         : NULL;
  pw__buf_free(&title);
  return r;
}

static json_t *templating(void) {
  static const char pool_query[] = "label_values(poolwatch_pool_size, pool)";
  /* The data source variable lets the importer pick any Prometheus data
   * source, instead of the dashboard naming one that exists only on the
   * machine that made it. */
  json_t *datasource = json_pack(
      "{s:{}, s:i, s:b, s:s, s:b, s:s, s:[], s:s, s:i, s:s, s:b, s:s}", "current", "hide", 0,
      "includeAll", 0, "label", "Data source", "multi", 0, "name", "datasource", "options",
      "query", "prometheus", "refresh", 1, "regex", "", "skipUrlSync", 0, "type", "datasource");
  json_t *pool = json_pack(
      "{s:s, s:{}, s:o, s:s, s:i, s:b, s:s, s:b, s:s, s:[], s:{s:s, s:s}, s:i, s:s, s:b, s:i,"
      " s:s}",
      "allValue", ".*", "current", "datasource", datasource_ref(), "definition", pool_query,
      "hide", 0, "includeAll", 1, "label", "Pool", "multi", 1, "name", "pool", "options",
      "query", "query", pool_query, "refId", "PrometheusVariableQueryEditor-VariableQuery",
      "refresh", 2, "regex", "", "skipUrlSync", 0, "sort", 1, "type", "query");
  return json_pack("{s:[o, o]}", "list", datasource, pool);
}

json_t *dashboard_grafana(const char *const *pool_names, size_t n_pools) {
  json_t *panels = json_array();
  int id = 1;
  if (n_pools == 0) panel_grid(panels, NULL, &id, 0);
  int y = 0;
  for (size_t pool = 0; pool < n_pools; pool++) {
    json_array_append_new(panels, row(pool_names[pool], id++, y));
    y = panel_grid(panels, pool_names[pool], &id, y + 1);
  }
  json_t *annotation = json_pack(
      "{s:i, s:{s:s, s:s}, s:b, s:b, s:s, s:s, s:s}", "builtIn", 1, "datasource", "type",
      "grafana", "uid", "-- Grafana --", "enable", 1, "hide", 1, "iconColor",
      "rgba(0, 211, 255, 1)", "name", "Annotations & Alerts", "type", "dashboard");
  /* "id" is null so that Grafana assigns one on import. */
  return json_pack(
      "{s:{s:[o]}, s:s, s:b, s:i, s:i, s:n, s:[], s:o, s:s, s:i, s:[s, s], s:o, s:{s:s, s:s},"
      " s:{}, s:s, s:s, s:s, s:i, s:s}",
      "annotations", "list", annotation,
      "description", "Connection pools tracked by poolwatch (Prometheus export).",
      "editable", 1, "fiscalYearStartMonth", 0, "graphTooltip", 1, "id", "links",
      "panels", panels, "refresh", "30s", "schemaVersion", 39, "tags", "poolwatch", "postgresql",
      "templating", templating(), "time", "from", "now-1h", "to", "now", "timepicker",
      "timezone", "browser", "title", PW__DASHBOARD_NAME, "uid", "poolwatch", "version", 1,
      "weekStart", "");
}
