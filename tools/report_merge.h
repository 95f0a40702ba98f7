/* Merging loaded reports into one document: the report schema with
 * "merged": true, which `poolwatch report` prints in every format and
 * `poolwatch run` turns into CI files. Every output format is written from
 * this one document. */
#ifndef POOLWATCH_REPORT_MERGE_H
#define POOLWATCH_REPORT_MERGE_H

#include <jansson.h>

#include "report_load.h"

/* The merged document of SET: every process, leak and finding groups that
 * name their processes, largest first, and the groups a suppression
 * matched under "suppressed_leaks". Groups whose signature is a key of
 * BASELINE_SIGS (may be NULL) are left out and counted under "baseline",
 * which names BASELINE_PATH. */
json_t *report_merged_document(const report_set *set, const json_t *baseline_sigs,
                               const char *baseline_path);

/* Reads PATHS (files or directories) and the baseline, if any, and returns
 * their merged document, or NULL after saying why on stderr. */
json_t *report_merge_paths(const char *const *paths, int count, const char *baseline_path);

#endif
