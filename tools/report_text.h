/* The text form of a merged report, for people: what leaked, from where,
 * largest group first; then findings and each process's pool metrics. */
#ifndef POOLWATCH_REPORT_TEXT_H
#define POOLWATCH_REPORT_TEXT_H

#include <jansson.h>
#include <stdio.h>

/* MERGED is the document `poolwatch report --format json` prints. */
void report_print_text(FILE *out, const json_t *merged);

/* "N thing" or "N things". */
void report_print_count(FILE *out, long long n, const char *singular, const char *plural);

#endif
