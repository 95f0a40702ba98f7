/* The monotonic clock: read from the time-stamp counter where the kernel
 * keeps time with it, it must agree with CLOCK_MONOTONIC, never run
 * backwards on one thread, and keep agreeing in a forked child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"

/* A reading must fall between the CLOCK_MONOTONIC readings taken just
 * before and just after it, give or take the conversion's error (a few
 * microseconds; NTP's slewing adds at most 500 ppm of a span). Bracketed,
 * a preemption between the readings widens the bracket: compared with one
 * reference read before, a thread preempted for 8 ms on a busy machine
 * failed a 5 ms bound. */
#define AGREE_NS 100000u

static bool within(uint64_t before, uint64_t now, uint64_t after) {
  return now + AGREE_NS >= before && now <= after + AGREE_NS;
}

static bool kernel_uses_tsc(void) {
  FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  char source[16] = {0};
  if (f) {
    if (!fgets(source, sizeof(source), f)) source[0] = 0;
    fclose(f);
  }
  return strcmp(source, "tsc\n") == 0;
}

/* A new anchor may put a reading a little behind the one before it (the
 * rate measured so far was a hair fast); durations clamp at zero. */
#define STEP_BACK_NS 50000u

/* Reads both clocks side by side for MS milliseconds; returns the number
 * of disagreements and of steps backwards larger than STEP_BACK_NS. */
static void compare_for(unsigned ms, unsigned *disagreements, unsigned *backwards) {
  *disagreements = *backwards = 0;
  uint64_t end = pw__monotonic_ns() + ms * 1000000ull, last = 0;
  for (uint64_t before = 0; (before = pw__monotonic_ns()) < end;) {
    uint64_t now = pw__now_ns();
    if (!within(before, now, pw__monotonic_ns())) (*disagreements)++;
    if (now + STEP_BACK_NS < last) (*backwards)++;
    last = now;
  }
}

static void agrees_with_clock_gettime(void **state) {
  (void)state;
  unsigned disagreements, backwards;
  compare_for(60, &disagreements, &backwards);
  assert_int_equal(disagreements, 0);
  assert_int_equal(backwards, 0);
  /* Past the first millisecond the counter is in use, where it can be. */
  if (kernel_uses_tsc() && PW__CLOCK_TSC) assert_true(atomic_load(&pw__tsc.span) > 0);
}

static void agrees_after_fork(void **state) {
  (void)state;
  pw__now_ns();
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    pw__clock_atfork_child();
    unsigned disagreements, backwards;
    compare_for(30, &disagreements, &backwards);
    _exit(disagreements || backwards ? 1 : 0);
  }
  int status = 0;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* Durations within one anchor's span come from the counter's measured
 * rate: a 5 ms sleep reads as 5 ms. The readings nest inside the
 * reference's, so the bounds hold on a busy machine too. */
static void durations_keep_the_rate(void **state) {
  (void)state;
  const uint64_t nap_ns = 5000000, slack_ns = 100000;
  for (int i = 0; i < 5; i++) {
    uint64_t outer_start = pw__monotonic_ns();
    uint64_t start = pw__now_ns();
    usleep(nap_ns / 1000);
    uint64_t end = pw__now_ns();
    uint64_t outer_end = pw__monotonic_ns();
    assert_true(end - start + slack_ns >= nap_ns);
    assert_true(end - start <= outer_end - outer_start + slack_ns);
  }
}

/* A reading far from the anchor (the process slept past it) is taken
 * from clock_gettime, and anchors the counter again. */
static void long_gaps_stay_right(void **state) {
  (void)state;
  for (int i = 0; i < 3; i++) {
    usleep(30000);
    uint64_t before = pw__monotonic_ns();
    uint64_t now = pw__now_ns();
    assert_true(within(before, now, pw__monotonic_ns()));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(agrees_with_clock_gettime),
      cmocka_unit_test(agrees_after_fork),
      cmocka_unit_test(durations_keep_the_rate),
      cmocka_unit_test(long_gaps_stay_right),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
