/* Time sources. Durations use a monotonic clock (immune to clock changes);
 * timestamps shown to users use CLOCK_REALTIME.
 *
 * pw__now_ns() is CLOCK_MONOTONIC, read from the CPU's time-stamp counter
 * where the kernel itself keeps time with it: a checkout and its checkin
 * take three readings, and a clock_gettime costs 30 ns on a VM (a
 * serialized RDTSC, then the kernel's conversion) where a plain RDTSC and a
 * multiply cost half. The conversion is anchored to clock_gettime and
 * anchored again at most 1 s later (clock.c), so readings stay within
 * microseconds of CLOCK_MONOTONIC and every reader, whichever source it
 * took, agrees with the others. Elsewhere it is clock_gettime. */
#ifndef POOLWATCH_CLOCK_H
#define POOLWATCH_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#define PW__CLOCK_TSC 1
#else
#define PW__CLOCK_TSC 0
#endif

static inline uint64_t pw__monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pw__wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The counter's conversion to nanoseconds since a reading of both clocks:
 * ns = ns_at + ((tsc - tsc_at) * mult >> 32) while tsc - tsc_at < span.
 * Written under the sequence count (odd while a writer is at work); a
 * reader that sees it move takes clock_gettime instead of waiting. span 0:
 * no conversion yet (or none at all: no usable counter). */
typedef struct pw__tsc_anchor {
  _Atomic uint64_t sequence;
  _Atomic uint64_t tsc_at, ns_at, mult, span;
} pw__tsc_anchor;
extern pw__tsc_anchor pw__tsc;

/* clock_gettime, and on the way a new anchor when the counter is usable. */
uint64_t pw__now_ns_slow(void);

static inline uint64_t pw__now_ns(void) {
#if PW__CLOCK_TSC
  /* Acquire loads throughout (plain loads on x86): the second look at
   * the sequence count cannot move above the fields'. */
  uint64_t sequence = atomic_load_explicit(&pw__tsc.sequence, memory_order_acquire);
  uint64_t tsc = __rdtsc();
  uint64_t at = atomic_load_explicit(&pw__tsc.tsc_at, memory_order_acquire);
  uint64_t ns = atomic_load_explicit(&pw__tsc.ns_at, memory_order_acquire);
  uint64_t mult = atomic_load_explicit(&pw__tsc.mult, memory_order_acquire);
  uint64_t span = atomic_load_explicit(&pw__tsc.span, memory_order_acquire);
  /* A counter read before the anchor's (another CPU's) wraps to a large
   * difference and takes the slow path too. */
  uint64_t since = tsc - at;
  if (__builtin_expect(since < span &&
                           atomic_load_explicit(&pw__tsc.sequence, memory_order_relaxed) ==
                               sequence && !(sequence & 1), 1))
    return ns + (uint64_t)(((unsigned __int128)since * mult) >> 32);
#endif
  return pw__now_ns_slow();
}

/* After fork(): a child of a thread that was writing the anchor must not
 * see it half written forever. */
void pw__clock_atfork_child(void);

static inline double pw__seconds(uint64_t ns) { return (double)ns / 1e9; }

/* NOW - SINCE, or zero when SINCE is the newer: a record made by another
 * thread after the reader took its clock reading. Plain unsigned
 * subtraction reported "held for 18446744073.71 s" in hot loops. */
static inline uint64_t pw__elapsed_ns(uint64_t now, uint64_t since) {
  return now > since ? now - since : 0;
}

#endif
