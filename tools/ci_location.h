/* Where a leak or finding is in the user's own code, for the CI formats
 * (SARIF, JUnit, GitHub annotations): the frame to point at, the file path
 * as the CI system wants it, and an identity that stays the same across
 * runs. */
#ifndef POOLWATCH_CI_LOCATION_H
#define POOLWATCH_CI_LOCATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Index in STACK of the frame to show as the location, or -1 for an empty
 * stack. Frames in poolwatch, libpq, libzdb, the C library and loader,
 * interpreters, drivers and pool libraries are skipped; of the rest, the
 * first interpreted frame (language python, ruby, perl or php) with a file
 * wins, then the first native frame with a file, then the first frame
 * left. When every frame is skipped, frame 0 stands in. */
long ci_user_frame(const json_t *stack);

/* The frame a leak or finding group is located at: the user's frame of
 * its stack; when that stack is all library frames (a pool exhausted
 * inside libzdb), the user's frame of its second stack or first holder;
 * else ci_user_frame's stand-in. NULL for a group without a stack. */
const json_t *ci_group_frame(const json_t *group);

/* FILE relative to ROOT when it lies under ROOT (ROOT may end in '/'),
 * else FILE itself; NULL ROOT means FILE. Points into FILE. */
const char *ci_relative_path(const char *file, const char *root);

/* A stable identity for a leak or finding group: 16 hex digits hashed from
 * report_group_signature (kind, pool, and each frame's function, file name
 * and module name), so line numbers, offsets, addresses, pids and times
 * never change it. Writes into OUT. */
void ci_group_fingerprint(const json_t *group, char out[17]);

/* "function (file:line)" of FRAME for one-line messages, with the file's
 * base name; "??" parts where unknown; without ":line" unless WITH_LINE.
 * Returns a string to free. */
char *ci_frame_brief(const json_t *frame, bool with_line);

/* DIR made absolute and canonical (to free), for --source-root; NULL after
 * saying why when it is not a directory. */
char *ci_source_root(const char *dir);

/* The SUMMARY line every text report ends with, for a merged report. */
void ci_print_summary_line(FILE *out, const json_t *merged);

#endif
