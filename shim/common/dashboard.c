#include "common/dashboard.h"

#include <stdbool.h>

#include "common/metric_names.h"

#define DASHBOARD_NAME "Database Connection Pool"

/* A small indenting JSON writer. The shim cannot use a JSON library, and
 * people read and diff these files, so they are indented like Python's
 * json.dumps(indent=2), except that containers opened "inline" (a panel of
 * the simple form, a gridPos) stay on one line. */
typedef struct json_writer {
  pw__buf *out;
  int depth;
  int inline_depth; /* depth of the outermost inline container; 0: none */
  bool first;       /* nothing written yet in the current container */
} json_writer;

static bool in_inline(const json_writer *w) {
  return w->inline_depth && w->depth >= w->inline_depth;
}

static void newline(json_writer *w) {
  pw__buf_puts(w->out, "\n");
  for (int i = 0; i < w->depth; i++) pw__buf_puts(w->out, "  ");
}

static void begin_value(json_writer *w, const char *key) {
  if (!w->first) pw__buf_puts(w->out, in_inline(w) ? ", " : ",");
  if (!in_inline(w) && w->depth > 0) newline(w);
  w->first = false;
  if (key) {
    pw__buf_json_string(w->out, key);
    pw__buf_puts(w->out, ": ");
  }
}

static void open_container(json_writer *w, const char *key, const char *bracket, bool is_inline) {
  begin_value(w, key);
  pw__buf_puts(w->out, bracket);
  w->depth++;
  if (is_inline && !w->inline_depth) w->inline_depth = w->depth;
  w->first = true;
}

static void close_container(json_writer *w, const char *bracket) {
  bool was_inline = in_inline(w);
  bool empty = w->first;
  if (w->inline_depth == w->depth) w->inline_depth = 0;
  w->depth--;
  if (!empty && !was_inline) newline(w);
  pw__buf_puts(w->out, bracket);
  w->first = false;
  if (w->depth == 0) pw__buf_puts(w->out, "\n");
}

static void open_object(json_writer *w, const char *key) { open_container(w, key, "{", false); }
static void open_inline_object(json_writer *w, const char *key) { open_container(w, key, "{", true); }
static void close_object(json_writer *w) { close_container(w, "}"); }
static void open_array(json_writer *w, const char *key) { open_container(w, key, "[", false); }
static void open_inline_array(json_writer *w, const char *key) { open_container(w, key, "[", true); }
static void close_array(json_writer *w) { close_container(w, "]"); }

static void put_string(json_writer *w, const char *key, const char *value) {
  begin_value(w, key);
  pw__buf_json_string(w->out, value);
}

static void put_int(json_writer *w, const char *key, long value) {
  begin_value(w, key);
  pw__buf_printf(w->out, "%ld", value);
}

/* For true, false and null. */
static void put_literal(json_writer *w, const char *key, const char *literal) {
  begin_value(w, key);
  pw__buf_puts(w->out, literal);
}

/* "TITLE (POOL)" for a pool's panel, "TITLE" otherwise. */
static void put_title(json_writer *w, const char *title, const char *pool) {
  if (!pool) {
    put_string(w, "title", title);
    return;
  }
  pw__buf text;
  pw__buf_init(&text);
  pw__buf_printf(&text, "%s (%s)", title, pool);
  put_string(w, "title", text.data);
  pw__buf_free(&text);
}

static void clear(pw__buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

static json_writer writer_for(pw__buf *out) {
  json_writer w = {out, 0, 0, true};
  return w;
}

/* ---- The simple form ---- */

typedef struct simple_panel {
  const char *title;
  const char *metrics[3];
} simple_panel;

/* The metric names are the keys of a report's pool "metrics" object. */
static const simple_panel simple_panels[] = {
  {"Pool Connections", {"pool.checkedout", "pool.checkedin"}},
  {"Pool Wait Time", {"pool.wait_time"}},
  {"Pool Size and Overflow", {"pool.size", "pool.overflow"}},
  {"Pool Leaks", {"pool.leaked_connections", "pool.leaked_checkouts"}},
};
#define SIMPLE_PANEL_COUNT (sizeof(simple_panels) / sizeof(simple_panels[0]))

static void simple_panel_json(json_writer *w, const simple_panel *p, const char *pool) {
  open_inline_object(w, NULL);
  put_title(w, p->title, pool);
  put_string(w, "type", "graph");
  open_inline_array(w, "metrics");
  for (size_t i = 0; i < 3 && p->metrics[i]; i++) put_string(w, NULL, p->metrics[i]);
  close_array(w);
  if (pool) put_string(w, "pool", pool);
  close_object(w);
}

void pw__dashboard_simple(pw__buf *out, const char *const *pool_names, size_t n_pools) {
  json_writer w = writer_for(out);
  open_object(&w, NULL);
  put_string(&w, "dashboard_name", DASHBOARD_NAME);
  open_array(&w, "panels");
  if (n_pools == 0) {
    for (size_t i = 0; i < SIMPLE_PANEL_COUNT; i++) simple_panel_json(&w, &simple_panels[i], NULL);
  }
  for (size_t pool = 0; pool < n_pools; pool++) {
    for (size_t i = 0; i < SIMPLE_PANEL_COUNT; i++)
      simple_panel_json(&w, &simple_panels[i], pool_names[pool]);
  }
  close_array(&w);
  close_object(&w);
}

/* ---- The Grafana dashboard ---- */

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
  /* The value the Prometheus file carries (prometheus.c): a newline as
   * \n, other control characters and invalid UTF-8 as U+FFFD, so the
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

static void datasource_ref(json_writer *w) {
  open_inline_object(w, "datasource");
  put_string(w, "type", "prometheus");
  put_string(w, "uid", "${datasource}");
  close_object(w);
}

static void grid_pos(json_writer *w, int x, int y, int width, int height) {
  open_inline_object(w, "gridPos");
  put_int(w, "h", height);
  put_int(w, "w", width);
  put_int(w, "x", x);
  put_int(w, "y", y);
  close_object(w);
}

static void grafana_timeseries(json_writer *w, const grafana_panel *p, const char *pool, int id,
                               int x, int y) {
  open_object(w, NULL);
  datasource_ref(w);
  put_string(w, "description", p->description);
  open_object(w, "fieldConfig");
  open_object(w, "defaults");
  put_string(w, "unit", p->unit);
  put_int(w, "min", 0);
  close_object(w);
  open_array(w, "overrides");
  close_array(w);
  close_object(w);
  grid_pos(w, x, y, PANEL_WIDTH, PANEL_HEIGHT);
  put_int(w, "id", id);
  open_object(w, "options");
  open_inline_object(w, "legend");
  open_inline_array(w, "calcs");
  close_array(w);
  put_string(w, "displayMode", "list");
  put_string(w, "placement", "bottom");
  put_literal(w, "showLegend", "true");
  close_object(w);
  open_inline_object(w, "tooltip");
  put_string(w, "mode", "multi");
  put_string(w, "sort", "none");
  close_object(w);
  close_object(w);
  open_array(w, "targets");
  pw__buf text;
  pw__buf_init(&text);
  for (int i = 0; i < 4 && p->queries[i].legend; i++) {
    const panel_query *q = &p->queries[i];
    open_object(w, NULL);
    datasource_ref(w);
    put_string(w, "editorMode", "code");
    clear(&text);
    query_expr(&text, q, pool);
    put_string(w, "expr", text.data);
    clear(&text);
    /* A fixed pool needs no pool in the legend; the kind label already
     * names its series. */
    bool prefix = !pool && q->shape != QUERY_BY_KIND;
    pw__buf_printf(&text, "%s%s", prefix ? "{{pool}} " : "", q->legend);
    put_string(w, "legendFormat", text.data);
    put_literal(w, "range", "true");
    char ref_id[2] = {(char)('A' + i), '\0'};
    put_string(w, "refId", ref_id);
    close_object(w);
  }
  pw__buf_free(&text);
  close_array(w);
  put_title(w, p->title, pool);
  put_string(w, "type", "timeseries");
  close_object(w);
}

/* Lays the panels out two by two from row Y; returns the row below them. */
static int grafana_panel_grid(json_writer *w, const char *pool, int *id, int y) {
  for (size_t i = 0; i < GRAFANA_PANEL_COUNT; i++) {
    int x = (int)(i % 2) * PANEL_WIDTH;
    grafana_timeseries(w, &grafana_panels[i], pool, (*id)++, x, y + (int)(i / 2) * PANEL_HEIGHT);
  }
  return y + (int)((GRAFANA_PANEL_COUNT + 1) / 2) * PANEL_HEIGHT;
}

static void grafana_row(json_writer *w, const char *pool, int id, int y) {
  open_object(w, NULL);
  put_literal(w, "collapsed", "false");
  grid_pos(w, 0, y, GRID_WIDTH, 1);
  put_int(w, "id", id);
  open_array(w, "panels");
  close_array(w);
  pw__buf title;
  pw__buf_init(&title);
  pw__buf_printf(&title, "Pool %s", pool);
  put_string(w, "title", title.data);
  pw__buf_free(&title);
  put_string(w, "type", "row");
  close_object(w);
}

static void grafana_templating(json_writer *w) {
  open_object(w, "templating");
  open_array(w, "list");

  /* Lets the importer pick any Prometheus data source, instead of the
   * dashboard naming one that exists only on the machine that made it. */
  open_object(w, NULL);
  open_inline_object(w, "current");
  close_object(w);
  put_int(w, "hide", 0);
  put_literal(w, "includeAll", "false");
  put_string(w, "label", "Data source");
  put_literal(w, "multi", "false");
  put_string(w, "name", "datasource");
  open_inline_array(w, "options");
  close_array(w);
  put_string(w, "query", "prometheus");
  put_int(w, "refresh", 1);
  put_string(w, "regex", "");
  put_literal(w, "skipUrlSync", "false");
  put_string(w, "type", "datasource");
  close_object(w);

  static const char pool_query[] = "label_values(poolwatch_pool_size, pool)";
  open_object(w, NULL);
  put_string(w, "allValue", ".*");
  open_inline_object(w, "current");
  close_object(w);
  datasource_ref(w);
  put_string(w, "definition", pool_query);
  put_int(w, "hide", 0);
  put_literal(w, "includeAll", "true");
  put_string(w, "label", "Pool");
  put_literal(w, "multi", "true");
  put_string(w, "name", "pool");
  open_inline_array(w, "options");
  close_array(w);
  open_inline_object(w, "query");
  put_string(w, "query", pool_query);
  put_string(w, "refId", "PrometheusVariableQueryEditor-VariableQuery");
  close_object(w);
  put_int(w, "refresh", 2);
  put_string(w, "regex", "");
  put_literal(w, "skipUrlSync", "false");
  put_int(w, "sort", 1);
  put_string(w, "type", "query");
  close_object(w);

  close_array(w);
  close_object(w);
}

void pw__dashboard_grafana(pw__buf *out, const char *const *pool_names, size_t n_pools) {
  json_writer w = writer_for(out);
  open_object(&w, NULL);

  open_object(&w, "annotations");
  open_array(&w, "list");
  open_object(&w, NULL);
  put_int(&w, "builtIn", 1);
  open_inline_object(&w, "datasource");
  put_string(&w, "type", "grafana");
  put_string(&w, "uid", "-- Grafana --");
  close_object(&w);
  put_literal(&w, "enable", "true");
  put_literal(&w, "hide", "true");
  put_string(&w, "iconColor", "rgba(0, 211, 255, 1)");
  put_string(&w, "name", "Annotations & Alerts");
  put_string(&w, "type", "dashboard");
  close_object(&w);
  close_array(&w);
  close_object(&w);

  put_string(&w, "description", "Connection pools tracked by poolwatch (Prometheus export).");
  put_literal(&w, "editable", "true");
  put_int(&w, "fiscalYearStartMonth", 0);
  put_int(&w, "graphTooltip", 1);
  put_literal(&w, "id", "null");
  open_inline_array(&w, "links");
  close_array(&w);

  open_array(&w, "panels");
  int id = 1;
  if (n_pools == 0) grafana_panel_grid(&w, NULL, &id, 0);
  int y = 0;
  for (size_t pool = 0; pool < n_pools; pool++) {
    grafana_row(&w, pool_names[pool], id++, y);
    y = grafana_panel_grid(&w, pool_names[pool], &id, y + 1);
  }
  close_array(&w);

  put_string(&w, "refresh", "30s");
  put_int(&w, "schemaVersion", 39);
  open_inline_array(&w, "tags");
  put_string(&w, NULL, "poolwatch");
  put_string(&w, NULL, "postgresql");
  close_array(&w);
  grafana_templating(&w);
  open_inline_object(&w, "time");
  put_string(&w, "from", "now-1h");
  put_string(&w, "to", "now");
  close_object(&w);
  open_inline_object(&w, "timepicker");
  close_object(&w);
  put_string(&w, "timezone", "browser");
  put_string(&w, "title", DASHBOARD_NAME);
  put_string(&w, "uid", "poolwatch");
  put_int(&w, "version", 1);
  put_string(&w, "weekStart", "");
  close_object(&w);
}
