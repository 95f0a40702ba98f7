/* A library that keeps a connection for the life of the process and closes
 * it in its destructor, writing a line to a file there, as libraries that
 * clean up at exit do (the attacks program's lib_destructor mode). */
#include <libpq-fe.h>
#include <stdio.h>

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
