/* The final report of a process image: printed to stderr and written to
 * POOLWATCH_OUTPUT_DIR (report JSON, text and dashboard seed) exactly once,
 * when the process exits or just before it calls exec. */
#ifndef POOLWATCH_AT_EXIT_H
#define POOLWATCH_AT_EXIT_H

#include <stdbool.h>

/* Builds, prints and writes the report, REASON being "exit" or "exec".
 * The first call in a process image does the work; later calls do nothing
 * and return what the first found. A process that never used libpq or a
 * pool stays silent. Stop the monitor thread first (pw__monitor_stop), so
 * no export is written while the report is. Preserves errno. Returns
 * whether unsuppressed leaks remain (for POOLWATCH_EXITCODE). */
bool pw__report_final(const char *reason);

/* The exec the report was written for failed: the image goes on and will
 * report again, into the files it already claimed. */
void pw__report_final_forget(void);
/* In a forked child: the child is a process of its own, with a report and
 * files of its own still to write. */
void pw__report_final_new_process(void);

#endif
