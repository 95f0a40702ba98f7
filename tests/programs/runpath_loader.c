/* A library that opens another by bare name, found only through its own
 * RUNPATH, and looks a symbol up with RTLD_NEXT: both depend on who calls
 * the loader, which poolwatch's dlopen and dlsym wrappers must not change. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int runpath_loader_open(void) {
  void *target = dlopen("libpwtest_runpath_target.so", RTLD_NOW | RTLD_LOCAL);
  if (!target) {
    fprintf(stderr, "runpath_loader: %s\n", dlerror());
    return -1;
  }
  int (*answer)(void) = (int (*)(void))dlsym(target, "runpath_target_answer");
  return answer ? answer() : -1;
}

/* This library's own definition of a function the program defines too;
 * RTLD_NEXT from here must find the next one, in libc. */
int runpath_loader_next_is_libc(void) {
  void *next = dlsym(RTLD_NEXT, "getpid");
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  void *in_libc = libc ? dlsym(libc, "getpid") : NULL;
  return next && next == in_libc;
}
