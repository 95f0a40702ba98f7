/* dlopen and dlclose of a libpq-using module in a loop on one thread while
 * other threads connect and finish: poolwatch must neither crash nor lose
 * count, and never touch a module once it is unloaded. The program is not
 * linked to libpq; everything goes through modules loaded with
 * RTLD_LOCAL, as in an interpreter.
 *
 *   dl_loop KEPT_MODULE LOOP_MODULE LOOPS THREADS CONNECTS_PER_THREAD
 *
 * First, THREADS threads connect and finish through KEPT_MODULE while the
 * main thread loads, uses and unloads LOOP_MODULE LOOPS times. Then
 * KEPT_MODULE is unloaded too, and the loop runs LOOPS times more: with no
 * other user, libpq itself is unloaded and loaded again each time. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef int clean_fn(void);
static clean_fn *kept_clean;
static int per_thread;
static _Atomic int failures;

static void *connect_loop(void *arg) {
  (void)arg;
  for (int i = 0; i < per_thread; i++)
    if (kept_clean() != 0) failures++;
  return NULL;
}

static void load_use_unload(const char *path, int loops) {
  for (int i = 0; i < loops; i++) {
    void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    clean_fn *clean = module ? (clean_fn *)dlsym(module, "dlmod_clean") : NULL;
    if (!clean || clean() != 0) failures++;
    if (module) dlclose(module);
  }
}

int main(int argc, char **argv) {
  if (argc != 6) return 2;
  int loops = atoi(argv[3]), threads = atoi(argv[4]);
  per_thread = atoi(argv[5]);
  void *kept = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  kept_clean = kept ? (clean_fn *)dlsym(kept, "dlmod_clean") : NULL;
  if (!kept_clean) return 1;
  pthread_t tids[64];
  if (threads > 64) threads = 64;
  for (int t = 0; t < threads; t++) pthread_create(&tids[t], NULL, connect_loop, NULL);
  load_use_unload(argv[2], loops);
  for (int t = 0; t < threads; t++) pthread_join(tids[t], NULL);
  dlclose(kept);
  load_use_unload(argv[2], loops);
  printf("dl_loop done: %d failures\n", failures);
  return failures ? 1 : 0;
}
