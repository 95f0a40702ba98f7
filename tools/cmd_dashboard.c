/* `poolwatch dashboard`: prints the dashboard seed (the same code the library
 * uses for poolwatch-PID.dashboard.json) or the Grafana dashboard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/buf.h"
#include "common/dashboard.h"
#include "dashboard_grafana.h"
#include "report_load.h"

static const char dashboard_help[] =
    "Usage: poolwatch dashboard [--format simple|grafana] [--report FILE|DIR]...\n"
    "\n"
    "Prints a dashboard configuration on standard output.\n"
    "\n"
    "Options:\n"
    "  --format simple      {\"dashboard_name\": ..., \"panels\": [...]} over the\n"
    "                       report's pool metrics (pool.checkedout,\n"
    "                       pool.wait_time, ...); the default\n"
    "  --format grafana     a Grafana dashboard over the Prometheus metrics that\n"
    "                       POOLWATCH_PROMETHEUS exports; import it as is, then pick\n"
    "                       the Prometheus data source and pools in its variables\n"
    "  --report FILE|DIR    panels for each pool in these reports instead of the\n"
    "                       default panels (may be given more than once)\n"
    "  -h, --help           show this help\n";

/* The distinct pool names in SET, in the order the reports list them. The
 * strings belong to SET. */
static const char **pool_names(const report_set *set, size_t *count) {
  size_t n = json_array_size(set->pools);
  const char **names = calloc(n ? n : 1, sizeof(char *));
  *count = 0;
  if (!names) return NULL;
  size_t i;
  json_t *pool;
  json_array_foreach(set->pools, i, pool) {
    const char *name = report_string(pool, "name");
    if (!name) continue;
    bool seen = false;
    for (size_t j = 0; j < *count && !seen; j++) seen = strcmp(names[j], name) == 0;
    if (!seen) names[(*count)++] = name;
  }
  return names;
}

int cmd_dashboard(int argc, char **argv) {
  bool grafana = false;
  report_set set;
  if (!report_set_init(&set)) return EXIT_TROUBLE;
  int status = -1;
  for (int i = 1; i < argc && status < 0; i++) {
    const char *arg = argv[i];
    const char *value;
    int taken;
    if (cli_is_help(arg)) {
      fputs(dashboard_help, stdout);
      status = 0;
    } else if ((taken = cli_option_value(argc, argv, &i, "dashboard", "--format", &value))) {
      if (taken < 0)
        status = EXIT_TROUBLE;
      else if (strcmp(value, "grafana") == 0)
        grafana = true;
      else if (strcmp(value, "simple") == 0)
        grafana = false;
      else
        status = cli_usage_error("dashboard", "--format takes simple or grafana, not '%s'", value);
    } else if ((taken = cli_option_value(argc, argv, &i, "dashboard", "--report", &value))) {
      if (taken < 0 || !report_set_add_path(&set, value)) status = EXIT_TROUBLE;
    } else {
      status = cli_usage_error("dashboard", "unexpected argument '%s'", arg);
    }
  }
  if (status >= 0) {
    report_set_free(&set);
    return status;
  }

  size_t n = 0;
  const char **names = pool_names(&set, &n);
  pw__buf out;
  pw__buf_init(&out);
  if (names && grafana) {
    /* Indented like the seed: two spaces, keys in the order written. */
    json_t *dashboard = dashboard_grafana(names, n);
    char *text = dashboard ? json_dumps(dashboard, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text) pw__buf_printf(&out, "%s\n", text);
    else out.failed = true;
    free(text);
    json_decref(dashboard);
  } else if (names) {
    pw__dashboard_simple(&out, names, n);
  }
  status = 0;
  if (!names || out.failed || !out.data) {
    cli_error("out of memory");
    status = EXIT_TROUBLE;
  } else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
    cli_error("cannot write the dashboard: standard output failed");
    status = EXIT_TROUBLE;
  }
  pw__buf_free(&out);
  free(names);
  report_set_free(&set);
  return status;
}
