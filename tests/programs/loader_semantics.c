/* Checks that the loader still sees the caller's own place under
 * poolwatch: a bare-name dlopen from a library searches that library's
 * RUNPATH, dlsym(RTLD_NEXT) searches after the caller. Prints the results
 * and exits 0 when all hold, as it does without poolwatch. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libpq-fe.h>
#include <stdio.h>

int runpath_loader_open(void);
int runpath_loader_next_is_libc(void);

int main(void) {
  int answer = runpath_loader_open();
  int next_ok = runpath_loader_next_is_libc();
  /* The program's own RTLD_NEXT after the executable finds the first
   * definition in the libraries that follow it: poolwatch's preloaded
   * PQconnectdb, or libpq's without the shim, the same one the program's
   * own calls bind to. */
  int same = dlsym(RTLD_NEXT, "PQconnectdb") == (void *)PQconnectdb;
  printf("loader_semantics: runpath %d, rtld_next_in_library %d, rtld_next_in_program %d\n",
         answer, next_ok, same);
  return answer == 42 && next_ok && same ? 0 : 1;
}
