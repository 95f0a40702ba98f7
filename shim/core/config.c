/* The process's configuration and start time, shared by every stage. */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "core/pool.h"

pw__options pw__config = {.exitcode = -1, .pool_size = -1, .stack_depth = 32, .interval = 5.0};

/* The start is asked of the kernel when the report needs it, not read
 * from the clock at load: a clock read there cost every process that
 * inherits the preload two page faults (the vDSO's data page and libc's
 * clock_gettime). When /proc cannot say, the first use of poolwatch
 * stands in. */
static uint64_t started_ns, first_used_ns;

void pw__config_load(char *(*getenv_fn)(const char *)) {
  first_used_ns = pw__wall_ns();
  pw__options_load(&pw__config, getenv_fn);
  pw__pool_set_libpq_size(pw__config.pool_size);
}

/* Field 22 of /proc/self/stat, the start in clock ticks since boot (the
 * same clock as CLOCK_BOOTTIME), made a wall time; 0 when unreadable. The
 * name in field 2 may hold spaces and parentheses: fields are counted
 * from its last ')'. */
static uint64_t start_from_proc(void) {
  char text[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  char *p = strrchr(text, ')');
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  long hz = sysconf(_SC_CLK_TCK);
  struct timespec boot;
  if (!p || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return 0;
  uint64_t ticks = strtoull(p + 1, NULL, 10);
  uint64_t wall = pw__wall_ns();
  uint64_t since_boot = (uint64_t)boot.tv_sec * 1000000000u + (uint64_t)boot.tv_nsec;
  uint64_t at_boot = ticks * (1000000000u / (uint64_t)hz);
  if (at_boot > since_boot || since_boot - at_boot > wall) return 0;
  return wall - (since_boot - at_boot);
}

double pw__process_started_at(void) {
  if (!started_ns) {
    int saved = errno;
    started_ns = start_from_proc();
    if (!started_ns) started_ns = first_used_ns ? first_used_ns : pw__wall_ns();
    errno = saved;
  }
  return (double)started_ns / 1e9;
}

void pw__process_forget_start(void) { started_ns = 0; }
