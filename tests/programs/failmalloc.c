/* An LD_PRELOAD allocator wrapper for allocation-failure injection: the
 * Nth allocation (FAILMALLOC_NTH) made directly by code in an object whose
 * path contains FAILMALLOC_IN (default "libpoolwatch") fails with ENOMEM,
 * once, and the file FAILMALLOC_MARK (if set) is created to say so: a test
 * raises N until a run makes no such file, having tried every point. The
 * real allocator is glibc's, through its exported __libc_* entry points. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Atomic long seen;
static long nth = -1;
static const char *in = "libpoolwatch";

__attribute__((constructor)) static void arm(void) {
  const char *n = getenv("FAILMALLOC_NTH");
  if (n) nth = atol(n);
  const char *where = getenv("FAILMALLOC_IN");
  if (where) in = where;
}

static __thread int busy;

/* Whether this call, from CALLER, is the one to fail. */
static int fail(const void *caller) {
  if (busy) return 0;
  busy = 1;
  Dl_info info;
  int ours = dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, in);
  busy = 0;
  if (!ours) return 0;
  long k = atomic_fetch_add(&seen, 1) + 1;
  if (k != nth) return 0;
  const char *mark = getenv("FAILMALLOC_MARK");
  if (mark) { /* open and close allocate nothing */
    int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
  }
  errno = ENOMEM;
  return 1;
}

void *malloc(size_t n) {
  return fail(__builtin_return_address(0)) ? NULL : __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  return fail(__builtin_return_address(0)) ? NULL : __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  return fail(__builtin_return_address(0)) ? NULL : __libc_realloc(p, n);
}
void *aligned_alloc(size_t align, size_t n) {
  return fail(__builtin_return_address(0)) ? NULL : __libc_memalign(align, n);
}
void *memalign(size_t align, size_t n) {
  return fail(__builtin_return_address(0)) ? NULL : __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
  if (fail(__builtin_return_address(0))) return ENOMEM;
  void *p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
