/* The monotonic clock's slow path: clock_gettime, and the counter's
 * conversion kept anchored to it (clock.h). */
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

pw__tsc_anchor pw__tsc;

/* Anchored again once a reading is a span from the anchor. Between
 * anchors the error is the rate's error over the span: the rate is
 * measured over the baseline since the first reading (to within the two
 * clocks' skew at its ends: tens of nanoseconds, microseconds for a pair
 * slowed down on a busy machine), so a span of a quarter of the baseline
 * keeps it to a quarter of that skew, up to a span of 1 s. (A span as long
 * as the baseline let a reading step back by 70 us at the next anchor
 * under load.) NTP's slewing of CLOCK_MONOTONIC (500 ppm at most, a few ppm in
 * practice) adds at most 500 us over the longest span, a few us in
 * practice: far inside a histogram bucket's 6.25%. A reading past the span
 * costs a clock_gettime and the new rate's arithmetic, some 150
 * instructions: a program with fewer than one event a span pays it on
 * each, so the span is as long as the error allows. */
#define SPAN_MIN_NS 1000000u
#define SPAN_MAX_NS 1000000000u
/* No conversion until the counter's rate has been measured over this
 * long: the rate's error is the two clocks' skew over this baseline. */
#define BASELINE_NS 1000000u
/* An anchor's two readings more than this many counter ticks apart were
 * interrupted (preempted between them): not used. Unless the machine is
 * that slow (an emulator, valgrind): after a few pairs, one within twice
 * the shortest seen is clean too, or the counter would never be used. */
#define PAIR_TICKS 20000u
#define PAIRS_BEFORE_SHORTEST 4u

enum { UNKNOWN, DECIDING, USABLE, UNUSABLE };
static _Atomic int state = UNKNOWN;
static _Atomic bool writing;

#if PW__CLOCK_TSC
static uint64_t origin_tsc, origin_ns; /* written once, before state turns USABLE */

/* The counter is a clock only where the kernel keeps time with it: it
 * then checked that it runs at a constant rate and in step on every CPU.
 * And the process may have had RDTSC turned into a SIGSEGV. */
static bool counter_usable(void) {
  int state_of_tsc = 0;
  if (prctl(PR_GET_TSC, &state_of_tsc) != 0 || state_of_tsc != PR_TSC_ENABLE) return false;
  int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char source[16] = {0};
  ssize_t n = read(fd, source, sizeof(source) - 1);
  close(fd);
  return n > 0 && strcmp(source, "tsc\n") == 0;
}

static _Atomic uint64_t shortest_pair = UINT64_MAX;
static _Atomic unsigned pairs_seen;

/* Both clocks at (nearly) one moment; false when something came between. */
static bool read_pair(uint64_t *tsc, uint64_t *ns) {
  uint64_t before = __rdtsc();
  *ns = pw__monotonic_ns();
  uint64_t after = __rdtsc();
  uint64_t ticks = after - before;
  *tsc = before + ticks / 2;
  uint64_t shortest = atomic_load_explicit(&shortest_pair, memory_order_relaxed);
  if (ticks < shortest)
    atomic_store_explicit(&shortest_pair, shortest = ticks, memory_order_relaxed);
  unsigned seen = atomic_fetch_add_explicit(&pairs_seen, 1, memory_order_relaxed);
  return ticks < PAIR_TICKS || (seen >= PAIRS_BEFORE_SHORTEST && ticks / 2 <= shortest);
}

static void anchor(uint64_t tsc, uint64_t ns) {
  uint64_t ticks = tsc - origin_tsc;
  if (ns - origin_ns < BASELINE_NS || !ticks) return;
  bool expected = false;
  if (!atomic_compare_exchange_strong(&writing, &expected, true)) return; /* another thread is at it */
  /* Doubles: 53 bits are ample, and a 128-bit division is a library call. */
  double baseline_ns = (double)(ns - origin_ns);
  double ns_per_tick = baseline_ns / (double)ticks;
  double span_ns = baseline_ns / 4;
  span_ns = span_ns < SPAN_MIN_NS ? SPAN_MIN_NS : span_ns > SPAN_MAX_NS ? SPAN_MAX_NS : span_ns;
  uint64_t mult = (uint64_t)(ns_per_tick * 4294967296.0);
  uint64_t span = (uint64_t)(span_ns / ns_per_tick);
  uint64_t sequence = atomic_load_explicit(&pw__tsc.sequence, memory_order_relaxed);
  /* Release stores throughout: no field is seen before the odd count. */
  atomic_store_explicit(&pw__tsc.sequence, sequence + 1, memory_order_relaxed);
  atomic_store_explicit(&pw__tsc.tsc_at, tsc, memory_order_release);
  atomic_store_explicit(&pw__tsc.ns_at, ns, memory_order_release);
  atomic_store_explicit(&pw__tsc.mult, mult, memory_order_release);
  atomic_store_explicit(&pw__tsc.span, span, memory_order_release);
  atomic_store_explicit(&pw__tsc.sequence, sequence + 2, memory_order_release);
  atomic_store(&writing, false);
}

uint64_t pw__now_ns_slow(void) {
  int s = atomic_load_explicit(&state, memory_order_acquire);
  if (s == UNUSABLE || s == DECIDING) return pw__monotonic_ns();
  uint64_t tsc, ns;
  bool paired = read_pair(&tsc, &ns);
  if (s == UNKNOWN) {
    int expected = UNKNOWN;
    if (!paired) return ns; /* decided on a later, clean pair */
    if (!atomic_compare_exchange_strong(&state, &expected, DECIDING)) return ns;
    int saved = errno;
    bool usable = counter_usable();
    errno = saved;
    origin_tsc = tsc;
    origin_ns = ns;
    atomic_store_explicit(&state, usable ? USABLE : UNUSABLE, memory_order_release);
    return ns;
  }
  if (paired) anchor(tsc, ns);
  return ns;
}
#else
uint64_t pw__now_ns_slow(void) { return pw__monotonic_ns(); }
#endif

void pw__clock_atfork_child(void) {
  uint64_t sequence = atomic_load(&pw__tsc.sequence);
  if (sequence & 1) atomic_store(&pw__tsc.sequence, sequence + 1);
  atomic_store(&writing, false);
  if (atomic_load(&state) == DECIDING) atomic_store(&state, UNKNOWN);
}
