/* What a preload costs a process that never uses it: starts PROGRAM COUNT
 * times under each preload given, in turn (one start of each, round
 * robin, so a slow moment of the machine hits all alike), and prints each
 * one's median wall time from spawn to exit. "-" is no preload.
 *
 *   pwstart COUNT PROGRAM PRELOAD...
 *
 * Prints one line per preload: preload=PATH median_ns=N. Run by bench.py;
 * the program itself is never preloaded, so its own start costs nothing
 * here. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This environment without LD_PRELOAD, and with LD_PRELOAD=PRELOAD unless
 * it is "-". */
static char **environment_for(const char *preload) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 2, sizeof(*env));
  if (!env) exit(1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) env[k++] = environ[i];
  if (strcmp(preload, "-") != 0) {
    size_t size = strlen(preload) + 12;
    if (!(env[k] = malloc(size))) exit(1);
    snprintf(env[k++], size, "LD_PRELOAD=%s", preload);
  }
  return env;
}

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: pwstart COUNT PROGRAM PRELOAD...\n");
    return 2;
  }
  int count = atoi(argv[1]), variants = argc - 3;
  if (count < 1) return 2;
  char *child_argv[] = {argv[2], NULL};
  char ***envs = calloc((size_t)variants, sizeof(*envs));
  uint64_t *took = calloc((size_t)variants * (size_t)count, sizeof(*took));
  if (!envs || !took) return 1;
  for (int v = 0; v < variants; v++) envs[v] = environment_for(argv[3 + v]);
  for (int i = 0; i < count; i++) {
    for (int v = 0; v < variants; v++) {
      uint64_t t0 = now_ns();
      pid_t pid;
      int status;
      if (posix_spawn(&pid, argv[2], NULL, NULL, child_argv, envs[v]) != 0 ||
          waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pwstart: %s failed\n", argv[2]);
        return 1;
      }
      took[(size_t)v * (size_t)count + (size_t)i] = now_ns() - t0;
    }
  }
  for (int v = 0; v < variants; v++) {
    uint64_t *mine = took + (size_t)v * (size_t)count;
    qsort(mine, (size_t)count, sizeof(*mine), by_value);
    printf("preload=%s median_ns=%llu\n", argv[3 + v], (unsigned long long)mine[count / 2]);
  }
  return 0;
}
