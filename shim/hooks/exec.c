/* The exec family, wrapped: a process image that is about to be replaced
 * writes its report first, since no destructor runs on exec and the
 * connections it holds would otherwise never be seen. What is open then
 * is reported as left open at exec.
 *
 * The exec itself is untouched: same arguments, environment, status and
 * errno. The report is only written when the exec will most likely
 * succeed (the file exists and may be executed); if it fails anyway, the
 * process goes on and its exit report rewrites the same files. A vfork
 * child shares its parent's memory, so it writes nothing. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/lifecycle.h"
#include "hooks/resolve.h"

/* The calls without an environment go to libc's own execv and execvp,
 * which pass the process's environment: poolwatch never names `environ`,
 * a variable the loader would bind in every process at start-up. */
PW__REAL(execve)
PW__REAL(execv)
PW__REAL(execvp)
PW__REAL(execvpe)
PW__REAL(fexecve)

static bool executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Whether FILE would be found for execvp: a path as is, a bare name in
 * PATH (glibc's default when PATH is unset). */
static bool found_in_path(const char *file) {
  if (!file || !*file) return false;
  if (strchr(file, '/')) return executable(file);
  const char *path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  char candidate[4096];
  for (const char *p = path;; p++) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    int n = len ? snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, file)
                : snprintf(candidate, sizeof(candidate), "./%s", file);
    if (n > 0 && (size_t)n < sizeof(candidate) && executable(candidate)) return true;
    if (!end) return false;
    p = end;
  }
}

/* Writes the report when the exec is about to replace this image; true
 * when it was tried (and must be undone if the exec fails). */
static bool before_exec(bool will_run) {
  int saved = errno;
  bool prepared = will_run && pw__report_before_exec();
  errno = saved;
  return prepared;
}

static int after_failed_exec(bool prepared, int status) {
  int saved = errno;
  if (prepared) pw__report_exec_failed();
  errno = saved;
  return status;
}

#define EXEC_BODY(will_run, call)              \
  do {                                         \
    bool prepared = before_exec(will_run);     \
    return after_failed_exec(prepared, call);  \
  } while (0)

PW__EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  __typeof__(execve) *real = real_execve(__builtin_return_address(0));
  if (!real) return errno = ENOSYS, -1;
  EXEC_BODY(executable(path), real(path, argv, envp));
}

PW__EXPORT int execv(const char *path, char *const argv[]) {
  __typeof__(execv) *real = real_execv(__builtin_return_address(0));
  if (!real) return errno = ENOSYS, -1;
  EXEC_BODY(executable(path), real(path, argv));
}

PW__EXPORT int execvp(const char *file, char *const argv[]) {
  __typeof__(execvp) *real = real_execvp(__builtin_return_address(0));
  if (!real) return errno = ENOSYS, -1;
  EXEC_BODY(found_in_path(file), real(file, argv));
}

PW__EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  __typeof__(execvpe) *real = real_execvpe(__builtin_return_address(0));
  if (!real) return errno = ENOSYS, -1;
  EXEC_BODY(found_in_path(file), real(file, argv, envp));
}

PW__EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  __typeof__(fexecve) *real = real_fexecve(__builtin_return_address(0));
  if (!real) return errno = ENOSYS, -1;
  struct stat st;
  EXEC_BODY(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), real(fd, argv, envp));
}

/* The execl family takes its arguments as a list; it is forwarded as the
 * matching vector call, which is what glibc does inside. The vector lives
 * on the stack, as in glibc: a vfork child must not touch the heap. */
#define EXECL(name, target, with_env)                                        \
  PW__EXPORT int name(const char *file, const char *arg, ...) {              \
    va_list ap;                                                              \
    va_start(ap, arg);                                                       \
    /* glibc declares ARG non-null, yet execl(path, NULL) is seen in the  \
     * wild: hide the pointer from the optimizer before testing it. */       \
    const char *first = arg;                                                 \
    __asm__("" : "+r"(first));                                               \
    size_t n = 0;                                                            \
    if (first)                                                               \
      for (n = 1; va_arg(ap, const char *); n++) continue;                   \
    va_end(ap);                                                              \
    char *argv[n + 1];                                                       \
    va_start(ap, arg);                                                       \
    argv[0] = (char *)first;                                                 \
    for (size_t i = 1; i < n; i++) argv[i] = va_arg(ap, char *);             \
    if (n) (void)va_arg(ap, char *); /* the list's terminating NULL */       \
    argv[n] = NULL;                                                          \
    char *const *envp = with_env ? va_arg(ap, char *const *) : NULL;         \
    va_end(ap);                                                              \
    (void)envp;                                                              \
    return target;                                                           \
  }

EXECL(execl, execv(file, argv), false)
EXECL(execle, execve(file, argv, envp), true)
EXECL(execlp, execvp(file, argv), false)
