/* A library that keeps a connection for the life of the process and closes
 * it in its destructor, writing a line to a file there, as libraries that
 * clean up at exit do (the attacks program's lib_destructor mode).
 *
 * And a library whose destructor tears down state that another thread
 * could still be using (monitor_quiet mode): it removes the file
 * poolwatch's monitor exports, waits several ticks and tells whether the
 * monitor wrote it again while the libraries' destructors ran. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static PGconn *kept;
static char file[4096];

void attacks_dtor_open(const char *path) {
  snprintf(file, sizeof(file), "%s", path);
  kept = PQconnectdb("");
}

__attribute__((destructor)) static void close_kept(void) {
  if (!kept) return;
  PQfinish(kept);
  FILE *f = fopen(file, "a");
  if (f) {
    fputs("destructor closed its connection\n", f);
    fclose(f);
  }
}

static char watched[4096], verdict[4096];

void attacks_dtor_watch(const char *exported, const char *verdict_file) {
  snprintf(watched, sizeof(watched), "%s", exported);
  snprintf(verdict, sizeof(verdict), "%s", verdict_file);
}

__attribute__((destructor)) static void watch_exports(void) {
  if (!watched[0]) return;
  unlink(watched);
  const struct timespec ticks = {0, 200000000}; /* 20 of the monitor's 10 ms ticks */
  nanosleep(&ticks, NULL);
  FILE *f = fopen(verdict, "w");
  if (f) {
    fputs(access(watched, F_OK) == 0 ? "written during destructors\n" : "quiet\n", f);
    fclose(f);
  }
}
