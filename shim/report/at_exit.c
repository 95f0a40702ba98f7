/* The final report, built, printed and written once per process image. */
#include "report/at_exit.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/dashboard.h"
#include "common/log.h"
#include "common/output.h"
#include "core/config.h"
#include "core/registry.h"
#include "report/report.h"
#include "report/suppress.h"

static atomic_flag written = ATOMIC_FLAG_INIT;
static _Atomic bool leaks_found;

/* The files' common stem, poolwatch-PID, claimed by this process image.
 * The image that follows an exec keeps the PID: it finds the name taken
 * and writes poolwatch-PID.2, and so on, so no image writes over
 * another's report. */
static char stem[64];

/* Writes the JSON report under this image's stem, claiming one the first
 * time: written whole with link(), which never replaces a name. After a
 * failed exec the image rewrites its own files. */
static bool write_report_file(const char *dir, const pw__report *r, const pw__buf *json) {
  char name[96];
  if (stem[0]) {
    snprintf(name, sizeof(name), "%s.json", stem);
    return pw__write_file(dir, name, json->data, json->len);
  }
  for (int image = 1; image < 1000; image++) {
    char candidate[64];
    if (image == 1)
      snprintf(candidate, sizeof(candidate), "poolwatch-%d", r->pid);
    else
      snprintf(candidate, sizeof(candidate), "poolwatch-%d.%d", r->pid, image);
    snprintf(name, sizeof(name), "%s.json", candidate);
    int claimed = pw__write_file_as(dir, name, json->data, json->len, false, 0600);
    if (claimed < 0) return false;
    if (claimed == 1) {
      snprintf(stem, sizeof(stem), "%s", candidate);
      return true;
    }
  }
  return false;
}

/* STEM.json, STEM.txt and the dashboard seed STEM.dashboard.json, naming
 * the pools this process used. */
static void write_files(const pw__report *r, const pw__buf *text, const pw__buf *json) {
  const char *dir = pw__config.output_dir;
  if (!write_report_file(dir, r, json)) return;
  char name[96];
  snprintf(name, sizeof(name), "%s.txt", stem);
  pw__write_file(dir, name, text->data, text->len);

  const char *names[64];
  size_t n = 0;
  for (size_t i = 0; i < r->pool_count && n < 64; i++) names[n++] = r->pools[i].pool->name;
  pw__buf dashboard;
  pw__buf_init(&dashboard);
  pw__dashboard_simple(&dashboard, names, n);
  snprintf(name, sizeof(name), "%s.dashboard.json", stem);
  if (!dashboard.failed) pw__write_file(dir, name, dashboard.data, dashboard.len);
  pw__buf_free(&dashboard);
}

bool pw__report_final(const char *reason) {
  if (!pw__registry_used()) return false; /* never used libpq: stay silent */
  if (atomic_flag_test_and_set(&written)) return atomic_load(&leaks_found);
  int saved = errno;
  pw__suppressions *suppressions =
      pw__config.suppressions ? pw__suppressions_load(pw__config.suppressions) : NULL;
  pw__report r;
  if (!pw__report_build(&r, suppressions, pw__process_started_at())) {
    pw__warn_once("report-memory", "out of memory; no report written");
    pw__suppressions_free(suppressions);
    errno = saved;
    return false;
  }
  r.reason = reason;
  if (r.snapshot.incomplete)
    pw__warn_once("report-incomplete",
                  "a lock was still held when the report was taken (a signal handler that "
                  "called exit() mid-call?); the report is incomplete");
  pw__buf text, json;
  pw__buf_init(&text);
  pw__buf_init(&json);
  pw__report_text(&r, &text);
  pw__report_json(&r, &json);
  if (!pw__config.quiet && !text.failed) pw__write_all(STDERR_FILENO, text.data, text.len);
  if (pw__config.output_dir && !json.failed && !text.failed) write_files(&r, &text, &json);
  atomic_store(&leaks_found, r.leaked_connections + r.leaked_checkouts > 0);
  pw__buf_free(&text);
  pw__buf_free(&json);
  pw__report_free(&r);
  pw__suppressions_free(suppressions);
  errno = saved;
  return atomic_load(&leaks_found);
}

void pw__report_final_forget(void) {
  atomic_flag_clear(&written);
  atomic_store(&leaks_found, false);
}

void pw__report_final_new_process(void) {
  pw__report_final_forget();
  stem[0] = '\0';
}
