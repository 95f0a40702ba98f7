#include "report_merge.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

/* Leak totals come from the groups shown, so they agree with --baseline. */
json_t *report_merged_document(const report_set *set, const json_t *baseline_sigs,
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
  long long unused = 0;
  json_t *suppressed = select_groups(set->suppressed, NULL, &unused);
  if (doc && suppressed && json_array_size(suppressed))
    json_object_set(doc, "suppressed_leaks", suppressed);
  json_decref(suppressed);
  if (doc && baseline_path)
    json_object_set_new(doc, "baseline",
                        json_pack("{s:s, s:I, s:I}", "path", baseline_path, "known_leaks",
                                  (json_int_t)known_leaks, "known_findings",
                                  (json_int_t)known_findings));
  return doc;
}

/* Reads the reports (and the baseline) and returns the merged document, or
 * NULL after saying why. */
json_t *report_merge_paths(const char *const *paths, int count, const char *baseline_path) {
  report_set set;
  if (!load_all(&set, paths, count)) return NULL;
  json_t *sigs = NULL;
  if (baseline_path) {
    report_set baseline;
    if (!load_all(&baseline, &baseline_path, 1)) {
      report_set_free(&set);
      return NULL;
    }
    sigs = baseline_signatures(&baseline);
    report_set_free(&baseline);
  }
  json_t *doc = report_merged_document(&set, sigs, baseline_path);
  json_decref(sigs);
  report_set_free(&set);
  if (!doc) cli_error("out of memory");
  return doc;
}

