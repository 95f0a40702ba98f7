/* Pool metrics in Prometheus' text exposition format, for node_exporter's
 * textfile collector: the names of metric_names.h, a `pool` label, base
 * units, no timestamps. */
#ifndef POOLWATCH_PROMETHEUS_H
#define POOLWATCH_PROMETHEUS_H

#include "common/buf.h"

/* Formats every pool this process used. */
void pw__prometheus_format(pw__buf *out);

#endif
