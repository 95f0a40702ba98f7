/* The dashboard seed, shared by the shim (which writes
 * poolwatch-PID.dashboard.json at exit) and the `poolwatch dashboard`
 * command, so both print the same thing; `poolwatch top` lists metrics in
 * its panel order. Plain C: the shim cannot depend on a JSON library. (The
 * Grafana form is the command's alone: tools/dashboard_grafana.c.) */
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

#endif
