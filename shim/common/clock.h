/* Time sources. Durations use CLOCK_MONOTONIC (immune to clock changes);
 * timestamps shown to users use CLOCK_REALTIME. Both are vDSO calls. */
#ifndef POOLWATCH_CLOCK_H
#define POOLWATCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t pw__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pw__wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double pw__seconds(uint64_t ns) { return (double)ns / 1e9; }

/* NOW - SINCE, or zero when SINCE is the newer: a record made by another
 * thread after the reader took its clock reading. Plain unsigned
 * subtraction reported "held for 18446744073.71 s" in hot loops. */
static inline uint64_t pw__elapsed_ns(uint64_t now, uint64_t since) {
  return now > since ? now - since : 0;
}

#endif
