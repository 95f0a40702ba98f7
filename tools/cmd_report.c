/* `poolwatch report`: prints, merges and compares reports. */
#include <stdlib.h>
#include <string.h>

#include "ci_location.h"
#include "cli.h"
#include "report_ci.h"
#include "report_load.h"
#include "report_merge.h"
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
    "  --format FORMAT      text for people (default); json, one merged report;\n"
    "                       sarif, SARIF 2.1.0 for code scanning; junit, JUnit XML\n"
    "                       for test dashboards; github, GitHub Actions annotations\n"
    "  --source-root DIR    write files under DIR relative to it (sarif: as\n"
    "                       uriBaseId SRCROOT; github: file=), so code scanning\n"
    "                       and annotations find them in the repository\n"
    "  --baseline OLD       leave out leaks and findings already in OLD (a report,\n"
    "                       a merged report or a directory); they match on kind,\n"
    "                       pool and each frame's function, file name and module\n"
    "                       name, ignoring line numbers, offsets and directories,\n"
    "                       so edits elsewhere and other build paths still match\n"
    "  --fail-on-leaks      exit with status 1 when leaks remain (after --baseline)\n"
    "  -h, --help           show this help\n"
    "\n"
    "The text report ends with one line for log scrapers:\n"
    "  SUMMARY: poolwatch: N leaked connections, M leaked checkouts in G groups,\n"
    "  F findings (S suppressed)\n"
    "\n"
    "Exit status: 0; 1 with --fail-on-leaks when leaks remain; 125 when a report\n"
    "cannot be read or the arguments are wrong.\n";

typedef enum report_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF, FORMAT_JUNIT, FORMAT_GITHUB } report_format;

static const char *const format_names[] = {"text", "json", "sarif", "junit", "github"};

typedef struct report_args {
  report_format format;
  const char *source_root;
  const char *baseline;
  bool fail_on_leaks;
  char **paths;
  int path_count;
} report_args;

static bool report_parse_format(const char *name, report_format *format) {
  for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
    if (strcmp(name, format_names[i]) == 0) {
      *format = (report_format)i;
      return true;
    }
  }
  return false;
}

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
      if (!report_parse_format(value, &args->format))
        return cli_usage_error("report", "--format takes text, json, sarif, junit or github, not '%s'",
                               value);
    } else if ((taken = cli_option_value(argc, argv, &i, "report", "--source-root", &value))) {
      if (taken < 0) return EXIT_TROUBLE;
      args->source_root = value;
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

int cmd_report(int argc, char **argv) {
  report_args args;
  int status = parse_args(argc, argv, &args);
  if (status >= 0) {
    free(args.paths);
    return status;
  }
  char *root = NULL;
  if (args.source_root && !(root = ci_source_root(args.source_root))) {
    free(args.paths);
    return EXIT_TROUBLE;
  }
  json_t *doc = report_merge_paths((const char *const *)args.paths, args.path_count, args.baseline);
  free(args.paths);
  if (!doc) {
    free(root);
    return EXIT_TROUBLE;
  }
  bool written = true;
  switch (args.format) {
    case FORMAT_JSON:
      written = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) == 0;
      fputs("\n", stdout);
      break;
    case FORMAT_SARIF: written = report_write_sarif(stdout, doc, root); break;
    case FORMAT_JUNIT: written = report_write_junit(stdout, doc); break;
    case FORMAT_GITHUB: written = report_write_github(stdout, doc, root); break;
    case FORMAT_TEXT:
      report_print_text(stdout, doc);
      ci_print_summary_line(stdout, doc);
      break;
  }
  free(root);
  status = written ? 0 : EXIT_TROUBLE;
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
