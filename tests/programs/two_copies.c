/* Two copies of libpq in one process: the system's, reached through one
 * module, and a stand-in library of the tests' own (standin_libpq.c),
 * reached through another. Both modules are dlmod.c, loaded with
 * RTLD_LOCAL as an interpreter loads extension modules. Each must reach
 * its own copy: a PGconn handed to the other copy aborts the process.
 *
 *   two_copies MODULE_SYSTEM MODULE_STANDIN */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>

typedef struct module {
  int (*leak)(int);
  int (*clean)(void);
} module;

static int load(const char *path, module *m) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fprintf(stderr, "two_copies: %s\n", dlerror());
    return -1;
  }
  m->leak = (int (*)(int))dlsym(handle, "dlmod_leak");
  m->clean = (int (*)(void))dlsym(handle, "dlmod_clean");
  return m->leak && m->clean ? 0 : -1;
}

int main(int argc, char **argv) {
  module system_copy, standin;
  if (argc != 3 || load(argv[1], &system_copy) != 0 || load(argv[2], &standin) != 0) return 1;
  int clean = system_copy.clean() + standin.clean();
  int leaked = system_copy.leak(1) + standin.leak(2);
  printf("two_copies done: clean %d, leaked %d connected\n", clean, leaked);
  return clean == 0 && leaked == 3 ? 0 : 1;
}
