/* libFuzzer harness for the report loader behind `poolwatch report` and
 * `dashboard --report`: the input is one to three report files, separated
 * by a line "--8<--". The first byte's low bits choose the output (text,
 * JSON, a dashboard) and whether the last file is the --baseline. The
 * command must give an exit status (0, 1 or 125), never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static char dir[] = "/tmp/poolwatch-fuzz-report-XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (!mkdtemp(dir)) abort();
  /* The command prints its report and its complaints; neither is checked,
   * and scripts/fuzz.sh silences both (-close_fd_mask=3: libFuzzer and the
   * sanitizers keep a descriptor of their own for their reports). */
  return 0;
}

static void write_file(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fwrite(data, 1, size, f);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned mode = data[0];
  data++;
  size--;
  static const char separator[] = "\n--8<--\n";
  char paths[3][64];
  int files = 0;
  while (files < 3) {
    const uint8_t *cut = memmem(data, size, separator, sizeof(separator) - 1);
    size_t len = cut ? (size_t)(cut - data) : size;
    snprintf(paths[files], sizeof(paths[files]), "%s/poolwatch-%d.json", dir, files + 1);
    write_file(paths[files], data, len);
    files++;
    if (!cut) break;
    data = cut + sizeof(separator) - 1;
    size -= len + sizeof(separator) - 1;
  }

  char *argv[12];
  int argc = 0;
  int status;
  if ((mode & 3) == 3) {
    argv[argc++] = "dashboard";
    argv[argc++] = "--format";
    argv[argc++] = mode & 4 ? "grafana" : "simple";
    for (int i = 0; i < files; i++) {
      argv[argc++] = "--report";
      argv[argc++] = paths[i];
    }
    argv[argc] = NULL;
    status = cmd_dashboard(argc, argv);
  } else {
    argv[argc++] = "report";
    argv[argc++] = "--format";
    argv[argc++] = mode & 1 ? "json" : "text";
    if (mode & 2) argv[argc++] = "--fail-on-leaks";
    int reports = files;
    if ((mode & 8) && files > 1) {
      argv[argc++] = "--baseline";
      argv[argc++] = paths[--reports];
    }
    for (int i = 0; i < reports; i++) argv[argc++] = paths[i];
    argv[argc] = NULL;
    status = cmd_report(argc, argv);
  }
  fflush(stdout);
  if (status != 0 && status != 1 && status != EXIT_TROUBLE) abort();
  for (int i = 0; i < files; i++) unlink(paths[i]);
  return 0;
}
