/* A program that never uses libpq, like the shell, make or compiler that
 * inherit LD_PRELOAD from a `poolwatch run`. With the shim it must behave
 * exactly as without: same output, same status (3), nothing on stderr, no
 * files. It also reports whether libpq got mapped into it, which the shim
 * must never cause. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

static int libpq_mapped(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  if (!maps) return -1;
  char line[4096];
  int found = 0;
  while (fgets(line, sizeof line, maps))
    if (strstr(line, "/libpq.so")) found = 1; /* not "libpq": this program is no_libpq */
  fclose(maps);
  return found;
}

int main(int argc, char **argv) {
  (void)argv;
  int mapped = libpq_mapped();
  printf("no_libpq: %d arguments\n", argc - 1);
  printf("no_libpq: libpq mapped: %s\n", mapped < 0 ? "unknown" : mapped ? "yes" : "no");
  return 3;
}
