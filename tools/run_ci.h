/* `poolwatch run`'s CI outputs: --sarif, --junit, --github and
 * --source-root, and the SUMMARY line that ends its summary. */
#ifndef POOLWATCH_RUN_CI_H
#define POOLWATCH_RUN_CI_H

#include <stdbool.h>
#include <stdio.h>

#include "report_load.h"

typedef struct run_ci_args {
  const char *sarif;       /* --sarif FILE */
  const char *junit;       /* --junit FILE */
  bool github;             /* --github, or GITHUB_ACTIONS=true */
  const char *source_root; /* --source-root DIR, or $GITHUB_WORKSPACE */
  bool root_from_env;      /* source_root is $GITHUB_WORKSPACE */
} run_ci_args;

/* The defaults: on GitHub Actions, annotations relative to the workspace. */
void run_ci_defaults(run_ci_args *ci);

/* Takes the CI option at argv[*i], as cli_option_value does: 1 when taken
 * (and *i advanced past its value), 0 when argv[*i] is another argument,
 * -1 after a usage message. */
int run_ci_option(int argc, char **argv, int *i, run_ci_args *ci);

/* The options' entries in `poolwatch run --help`. */
void run_ci_print_help(FILE *out);

/* Writes the CI outputs of SET's reports and the SUMMARY line on stderr;
 * false after saying why when a file could not be written. */
bool run_ci_write(const run_ci_args *ci, const report_set *set);

#endif
