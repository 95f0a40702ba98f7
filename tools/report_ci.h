/* The formats CI systems read, written from a merged report (see
 * report_merge.h): SARIF 2.1.0 for code scanning, JUnit XML for test
 * dashboards, and GitHub Actions workflow commands for annotations. Each
 * returns false when writing failed. */
#ifndef POOLWATCH_REPORT_CI_H
#define POOLWATCH_REPORT_CI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* SOURCE_ROOT (may be NULL): files under it are written relative to it,
 * with the uriBaseId SRCROOT standing for it. */
bool report_write_sarif(FILE *out, const json_t *merged, const char *source_root);

bool report_write_junit(FILE *out, const json_t *merged);

/* One ::error (leaks) or ::warning (other findings) line per group, with
 * file= relative to SOURCE_ROOT when it lies under it. */
bool report_write_github(FILE *out, const json_t *merged, const char *source_root);

/* Help for a leak kind ("connection", "checkout") or a finding kind, as
 * the README's table says it; NULL for a kind this poolwatch does not
 * know. SHORT is one sentence. */
typedef struct ci_rule {
  const char *id;   /* "leaked_connection", "pool_exhausted", ... */
  const char *name; /* PascalCase, as SARIF asks */
  const char *short_text;
  const char *help;
} ci_rule;
const ci_rule *ci_rule_for(const char *kind, bool leak);
extern const ci_rule ci_rules[];
extern const size_t ci_rule_count;

#endif
