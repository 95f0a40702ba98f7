/* The Grafana dashboard `poolwatch dashboard --format grafana` prints. */
#ifndef POOLWATCH_DASHBOARD_GRAFANA_H
#define POOLWATCH_DASHBOARD_GRAFANA_H

#include <jansson.h>
#include <stddef.h>

/* A Grafana dashboard over the Prometheus metrics in metric_names.h that
 * imports as is: a data source variable, a pool variable filled from the
 * metrics' pool label, and time series panels. With N_POOLS == 0 the panels
 * follow the pool variable; otherwise there is a row of panels for each
 * named pool. NULL when memory runs out. */
json_t *dashboard_grafana(const char *const *pool_names, size_t n_pools);

#endif
