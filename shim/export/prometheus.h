/* Pool metrics in Prometheus' text exposition format, for node_exporter's
 * textfile collector: the names of metric_names.h, `pool` and `pid`
 * labels, base units, no timestamps. */
#ifndef POOLWATCH_PROMETHEUS_H
#define POOLWATCH_PROMETHEUS_H

#include "common/buf.h"

/* Appends VALUE as a quoted label value, escaped as the exposition format
 * requires; control characters and invalid UTF-8 become U+FFFD. */
void pw__prometheus_label_value(pw__buf *out, const char *value);
/* Formats every pool this process used. */
void pw__prometheus_format(pw__buf *out);

#endif
