/* `poolwatch run`'s CI outputs, written from the same merged report as
 * `poolwatch report --format sarif|junit|github`. */
#include "run_ci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ci_location.h"
#include "cli.h"
#include "report_ci.h"
#include "report_merge.h"

/* These flags set no variable of the library, so they are not in the
 * options table; their help follows the same layout. */
static const struct {
  const char *usage, *description, *default_text;
} ci_flags[] = {
    {"--sarif FILE", "write every process's leaks and findings as SARIF 2.1.0 (code scanning)",
     "none"},
    {"--junit FILE", "write them as JUnit XML (a test case per process, leak group, finding)",
     "none"},
    {"--github", "print them as GitHub Actions annotations (::error, ::warning) on stderr",
     "on when GITHUB_ACTIONS=true"},
    {"--source-root DIR", "write files under DIR relative to it in SARIF and annotations",
     "$GITHUB_WORKSPACE when GITHUB_ACTIONS=true, else none"},
};

void run_ci_print_help(FILE *out) {
  for (size_t i = 0; i < sizeof(ci_flags) / sizeof(ci_flags[0]); i++)
    fprintf(out, "  %s\n        %s\n        default: %s\n", ci_flags[i].usage,
            ci_flags[i].description, ci_flags[i].default_text);
}

void run_ci_defaults(run_ci_args *ci) {
  memset(ci, 0, sizeof(*ci));
  /* On GitHub Actions the annotations come by themselves, with paths
   * relative to the checkout, as GitHub needs them to find the line. */
  const char *env = getenv("GITHUB_ACTIONS");
  if (!env || strcmp(env, "true") != 0) return;
  ci->github = true;
  env = getenv("GITHUB_WORKSPACE");
  if (env && *env) {
    ci->source_root = env;
    ci->root_from_env = true;
  }
}

int run_ci_option(int argc, char **argv, int *i, run_ci_args *ci) {
  if (strcmp(argv[*i], "--github") == 0) {
    ci->github = true;
    return 1;
  }
  static const char *const names[] = {"--sarif", "--junit", "--source-root"};
  const char **slots[] = {&ci->sarif, &ci->junit, &ci->source_root};
  for (size_t k = 0; k < 3; k++) {
    int taken = cli_option_value(argc, argv, i, "run", names[k], slots[k]);
    if (taken < 0) return -1;
    if (!taken) continue;
    if (!**slots[k]) {
      cli_usage_error("run", "%s needs a non-empty value", names[k]);
      return -1;
    }
    if (k == 2) ci->root_from_env = false;
    return 1;
  }
  return 0;
}

/* Writes the merged report to PATH with WRITE; false after saying why. */
static bool write_file(const char *path, const char *what, const json_t *merged, const char *root,
                       bool (*write)(FILE *, const json_t *, const char *)) {
  errno = 0;
  FILE *f = fopen(path, "we");
  bool ok = f && write(f, merged, root);
  if (f && fclose(f) != 0) ok = false;
  if (!ok) cli_error("cannot write the %s file %s: %s", what, path, strerror(errno ? errno : EIO));
  return ok;
}

static bool write_junit(FILE *out, const json_t *merged, const char *root) {
  (void)root;
  return report_write_junit(out, merged);
}

bool run_ci_write(const run_ci_args *ci, const report_set *set) {
  json_t *merged = report_merged_document(set, NULL, NULL);
  if (!merged) {
    cli_error("out of memory");
    return false;
  }
  char *root = NULL;
  bool ok = true;
  /* A $GITHUB_WORKSPACE that cannot be resolved only costs relative paths. */
  if (ci->root_from_env)
    root = realpath(ci->source_root, NULL);
  else if (ci->source_root && !(root = ci_source_root(ci->source_root)))
    ok = false;
  if (ok && ci->github) {
    fflush(stderr);
    report_write_github(stderr, merged, root);
  }
  if (ok && ci->sarif) ok = write_file(ci->sarif, "SARIF", merged, root, report_write_sarif);
  if (ok && ci->junit) ok = write_file(ci->junit, "JUnit", merged, root, write_junit);
  ci_print_summary_line(stderr, merged);
  free(root);
  json_decref(merged);
  return ok;
}
