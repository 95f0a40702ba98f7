/* The exit report under load: 1,000 call sites (leak_sites.c, generated
 * by CMakeLists.txt) each leak 100 checkouts of an annotated pool, then
 * the program exits. poolwatch then groups 100,000 leaked checkouts by
 * stack and symbolizes 1,000 stacks.
 *
 * Prints the CLOCK_MONOTONIC time at which exit() is called; run.sh takes
 * the time from there until the process is gone: the report's cost. */
#include <poolwatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "leak_sites.h"

static pw_pool *leak_pool;
static char conns[LEAK_SITES * LEAKS_PER_SITE];
static long taken;

void leak_checkouts(void) {
  for (int i = 0; i < LEAKS_PER_SITE; i++) {
    pw_checkout_begin(leak_pool);
    pw_checkout_end(leak_pool, &conns[taken++]);
  }
}

int main(void) {
  leak_pool = pw_pool_declare("leaky", 10, 10);
  for (int i = 0; i < LEAK_SITES; i++) leak_sites[i]();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("exit_at_ns=%lld leaked=%ld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, taken);
  fflush(stdout);
  exit(0);
}
