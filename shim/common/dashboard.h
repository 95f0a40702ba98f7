/* Dashboard configurations, shared by the shim (which writes the seed,
 * poolwatch-PID.dashboard.json, at exit) and the `poolwatch dashboard`
 * command, so both print the same thing; `poolwatch top` lists metrics in
 * the seed's panel order. Plain C: the shim cannot depend on a JSON
 * library. */
#ifndef POOLWATCH_DASHBOARD_H
#define POOLWATCH_DASHBOARD_H

#include <stddef.h>

#include "common/buf.h"

#define PW__DASHBOARD_NAME "Database Connection Pool"

/* A panel of the seed: its title and the report's pool metrics it draws
 * (keys of a pool's "metrics"), in the order dashboards and `poolwatch top`
 * show them. */
typedef struct pw__dashboard_panel {
  const char *title;
  const char *metrics[3]; /* NULL after the last */
} pw__dashboard_panel;

extern const pw__dashboard_panel pw__dashboard_panels[];
extern const size_t pw__dashboard_panel_count;

/* The simple form, {"dashboard_name": ..., "panels": [{"title": ...,
 * "type": "graph", "metrics": ["pool.checkedout", ...]}, ...]}, whose
 * metric names are the report's pool metrics. With N_POOLS == 0 it has the
 * four default panels (connections, wait time, size and overflow, leaks);
 * otherwise those four for each named pool, titled with the pool's name and
 * carrying a "pool" key. */
void pw__dashboard_simple(pw__buf *out, const char *const *pool_names, size_t n_pools);

/* A Grafana dashboard over the Prometheus metrics in metric_names.h that
 * imports as is: a data source variable, a pool variable filled from the
 * metrics' pool label, and time series panels. With N_POOLS == 0 the panels
 * follow the pool variable; otherwise there is a row of panels for each
 * named pool. */
void pw__dashboard_grafana(pw__buf *out, const char *const *pool_names, size_t n_pools);

#endif
