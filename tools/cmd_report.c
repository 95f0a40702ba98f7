/* `poolwatch report`: prints, merges and compares reports. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report_load.h"
#include "report_text.h"

static const char report_help[] =
    "Usage: poolwatch report [OPTIONS] FILE|DIR...\n"
    "\n"
    "Reads poolwatch-PID.json reports (a directory means every report in it),\n"
    "merges them and prints the leaks grouped by stack, largest group first,\n"
    "then the findings and each process's pool metrics. Leaks merge when their\n"
    "kind, pool and stack (function, file, line and module of every frame)\n"
    "are the same. A merged report (--format json) can be read again.\n"
    "\n"
    "Options:\n"
    "  --format text|json   text for people (default), or one merged JSON report\n"
    "  --baseline OLD       leave out leaks and findings already in OLD (a report,\n"
    "                       a merged report or a directory); they match on kind,\n"
    "                       pool and each frame's function, file name and module\n"
    "                       name, ignoring line numbers, offsets and directories,\n"
    "                       so edits elsewhere and other build paths still match\n"
    "  --fail-on-leaks      exit with status 1 when leaks remain (after --baseline)\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0; 1 with --fail-on-leaks when leaks remain; 125 when a report\n"
    "cannot be read or the arguments are wrong.\n";

typedef struct report_args {
  bool json;
  const char *baseline;
  bool fail_on_leaks;
  char **paths;
  int path_count;
} report_args;

/* Returns -1 when parsed, else the exit status to return at once. Options
 * may come before or after the files, as in most GNU tools; after "--"
 * every argument is a file. */
static int parse_args(int argc, char **argv, report_args *args) {
  memset(args, 0, sizeof(*args));
  args->paths = calloc((size_t)argc, sizeof(char *));
  if (!args->paths) {
    cli_error("out of memory");
    return EXIT_TROUBLE;
  }
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value;
    int taken;
    if (options_done || arg[0] != '-' || arg[1] == '\0') {
      args->paths[args->path_count++] = argv[i];
    } else if (strcmp(arg, "--") == 0) {
      options_done = true;
    } else if (cli_is_help(arg)) {
      fputs(report_help, stdout);
      return 0;
    } else if (strcmp(arg, "--fail-on-leaks") == 0) {
      args->fail_on_leaks = true;
    } else if ((taken = cli_option_value(argc, argv, &i, "report", "--format", &value))) {
      if (taken < 0) return EXIT_TROUBLE;
      if (strcmp(value, "json") == 0)
        args->json = true;
      else if (strcmp(value, "text") == 0)
        args->json = false;
      else
        return cli_usage_error("report", "--format takes text or json, not '%s'", value);
    } else if ((taken = cli_option_value(argc, argv, &i, "report", "--baseline", &value))) {
      if (taken < 0) return EXIT_TROUBLE;
      args->baseline = value;
    } else {
      return cli_usage_error("report", "unknown option '%s'", arg);
    }
  }
  if (args->path_count == 0)
    return cli_usage_error("report", "name at least one report file or directory");
  return -1;
}

static bool load_all(report_set *set, const char *const *paths, int count) {
  if (!report_set_init(set)) return false;
  for (int i = 0; i < count; i++) {
    if (!report_set_add_path(set, paths[i])) {
      report_set_free(set);
      return false;
    }
  }
  return true;
}

/* Signatures of every leak and finding group in the baseline. */
static json_t *baseline_signatures(const report_set *baseline) {
  json_t *sigs = json_object();
  const json_t *lists[] = {baseline->leaks, baseline->findings};
  for (size_t l = 0; l < 2; l++) {
    size_t i;
    json_t *g;
    json_array_foreach(lists[l], i, g) {
      char *sig = report_group_signature(g);
      if (sig) json_object_set_new(sigs, sig, json_true());
      free(sig);
    }
  }
  return sigs;
}

static const char *first_function(const json_t *group) {
  const char *f = report_string(json_array_get(json_object_get(group, "stack"), 0), "function");
  return f ? f : "";
}

/* Largest group first; ties in a fixed order so output is reproducible. */
static int by_count(const void *a, const void *b) {
  const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  long long cx = report_int(x, "count", 0), cy = report_int(y, "count", 0);
  if (cx != cy) return cx > cy ? -1 : 1;
  static const char *const keys[] = {"kind", "pool"};
  for (size_t i = 0; i < 2; i++) {
    const char *sx = report_string(x, keys[i]), *sy = report_string(y, keys[i]);
    int c = strcmp(sx ? sx : "", sy ? sy : "");
    if (c) return c;
  }
  return strcmp(first_function(x), first_function(y));
}

/* The groups not in BASELINE (all of them without one), sorted; adds the
 * counts of those left out to *KNOWN. */
static json_t *select_groups(const json_t *groups, const json_t *baseline, long long *known) {
  size_t n = json_array_size(groups), kept = 0;
  json_t **picked = calloc(n ? n : 1, sizeof(json_t *));
  if (!picked) return NULL;
  size_t i;
  json_t *g;
  json_array_foreach(groups, i, g) {
    if (baseline) {
      char *sig = report_group_signature(g);
      bool in_baseline = sig && json_object_get(baseline, sig);
      free(sig);
      if (in_baseline) {
        *known = report_add(*known, report_int(g, "count", 0));
        continue;
      }
    }
    picked[kept++] = g;
  }
  qsort(picked, kept, sizeof(json_t *), by_count);
  json_t *out = json_array();
  for (i = 0; i < kept; i++) json_array_append(out, picked[i]);
  free(picked);
  return out;
}

static long long sum_counts(const json_t *groups, const char *kind) {
  long long total = 0;
  size_t i;
  json_t *g;
  json_array_foreach(groups, i, g) {
    const char *k = report_string(g, "kind");
    if (!kind || (k && strcmp(k, kind) == 0)) total = report_add(total, report_int(g, "count", 0));
  }
  return total;
}

/* The merged document: the report schema with "merged": true, every
 * process, and leak and finding groups that name their processes. Leak
 * totals come from the groups shown, so they agree with --baseline. */
static json_t *merged_document(const report_set *set, const json_t *baseline_sigs,
                               const char *baseline_path) {
  long long known_leaks = 0, known_findings = 0;
  json_t *leaks = select_groups(set->leaks, baseline_sigs, &known_leaks);
  json_t *findings = select_groups(set->findings, baseline_sigs, &known_findings);
  report_totals totals;
  report_set_totals(set, &totals);
  json_t *doc = json_pack(
      "{s:s, s:s, s:i, s:b, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:O, s:o, s:o}",
      "tool", "poolwatch", "version", POOLWATCH_VERSION, "schema", 1, "merged", 1,
      "processes", set->processes,
      "summary", "processes", (json_int_t)totals.processes,
      "leaked_connections", (json_int_t)sum_counts(leaks, "connection"),
      "leaked_checkouts", (json_int_t)sum_counts(leaks, "checkout"),
      "leak_groups", (json_int_t)json_array_size(leaks),
      "suppressed", (json_int_t)totals.suppressed,
      "findings", (json_int_t)sum_counts(findings, NULL),
      "pools", set->pools, "leaks", leaks, "findings", findings);
  if (doc && baseline_path)
    json_object_set_new(doc, "baseline",
                        json_pack("{s:s, s:I, s:I}", "path", baseline_path, "known_leaks",
                                  (json_int_t)known_leaks, "known_findings",
                                  (json_int_t)known_findings));
  return doc;
}

/* Reads the reports (and the baseline) and returns the merged document, or
 * NULL after saying why. */
static json_t *load_and_merge(const report_args *args) {
  report_set set;
  if (!load_all(&set, (const char *const *)args->paths, args->path_count)) return NULL;
  json_t *sigs = NULL;
  if (args->baseline) {
    report_set baseline;
    if (!load_all(&baseline, &args->baseline, 1)) {
      report_set_free(&set);
      return NULL;
    }
    sigs = baseline_signatures(&baseline);
    report_set_free(&baseline);
  }
  json_t *doc = merged_document(&set, sigs, args->baseline);
  json_decref(sigs);
  report_set_free(&set);
  if (!doc) cli_error("out of memory");
  return doc;
}

int cmd_report(int argc, char **argv) {
  report_args args;
  int status = parse_args(argc, argv, &args);
  if (status >= 0) {
    free(args.paths);
    return status;
  }
  json_t *doc = load_and_merge(&args);
  free(args.paths);
  if (!doc) return EXIT_TROUBLE;
  if (args.json) {
    if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0) status = EXIT_TROUBLE;
    fputs("\n", stdout);
  } else {
    report_print_text(stdout, doc);
  }
  if (status < 0) status = 0;
  json_t *summary = json_object_get(doc, "summary");
  if (args.fail_on_leaks && status == 0 &&
      report_add(report_int(summary, "leaked_connections", 0),
                 report_int(summary, "leaked_checkouts", 0)) > 0)
    status = 1;
  json_decref(doc);
  if (fflush(stdout) != 0) {
    cli_error("cannot write the report: standard output failed");
    return EXIT_TROUBLE;
  }
  return status;
}
