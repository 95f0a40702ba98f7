/* An interpreter-like host that is not linked to libpq: it dlopen()s a
 * module that is, with RTLD_NOW | RTLD_LOCAL (as Python does for psycopg2),
 * calls into it, and exits without dlclose (interpreters keep extension
 * modules loaded). Under the shim it must not crash, and the module's two
 * kept connections are leaks.
 *
 *   dlopen_local [MODULE]   MODULE defaults to libpwtest_dlmod.so beside
 *                           this program */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char path[PATH_MAX];
  if (argc > 1) {
    snprintf(path, sizeof path, "%s", argv[1]);
  } else {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n < 0) return 1;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "libpwtest_dlmod.so");
  }

  void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    fprintf(stderr, "dlopen_local: %s\n", dlerror());
    return 1;
  }
  int (*leak)(int) = (int (*)(int))dlsym(module, "dlmod_leak");
  int (*clean)(void) = (int (*)(void))dlsym(module, "dlmod_clean");
  if (!leak || !clean) {
    fprintf(stderr, "dlopen_local: %s\n", dlerror());
    return 1;
  }

  int clean_status = clean();
  int leaked = leak(2);
  printf("dlopen_local done: clean %d, leaked %d connected\n", clean_status, leaked);
  return clean_status == 0 && leaked == 2 ? 0 : 1;
}
