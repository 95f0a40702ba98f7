/* A lock for the registry's shards. Every critical section under it is a
 * few hash-table operations, never a call that can block, so waiting by
 * spinning is cheaper than a mutex: an uncontended lock and unlock cost
 * two instructions instead of two library calls. A waiter that spins too
 * long (the holder was preempted) yields the processor. */
#ifndef POOLWATCH_SPINLOCK_H
#define POOLWATCH_SPINLOCK_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/clock.h"

typedef struct pw__spinlock {
  atomic_flag held;
} pw__spinlock;

#define PW__SPINLOCK_INIT {ATOMIC_FLAG_INIT}

static inline void pw__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline void pw__spin_lock(pw__spinlock *l) {
  for (unsigned spins = 0;
       atomic_flag_test_and_set_explicit(&l->held, memory_order_acquire); spins++) {
    if (spins >= 64) {
      sched_yield();
      spins = 0;
    } else {
      pw__cpu_relax();
    }
  }
}

static inline void pw__spin_unlock(pw__spinlock *l) {
  atomic_flag_clear_explicit(&l->held, memory_order_release);
}

/* The readers behind the exit report take their locks with patience that
 * ends: a signal handler that called exit() while its own thread was
 * inside a hook, holding a registry lock, left the exit report spinning
 * for ever (9 of 120 signal races). A lock still held after this long is
 * given up on and the report says it is incomplete. Any other holder
 * keeps a lock for a few hash-table operations. */
#define PW__LOCK_PATIENCE_NS 200000000ull

static inline bool pw__spin_lock_bounded(pw__spinlock *l) {
  if (!atomic_flag_test_and_set_explicit(&l->held, memory_order_acquire)) return true;
  uint64_t deadline = pw__now_ns() + PW__LOCK_PATIENCE_NS;
  for (unsigned spins = 0; atomic_flag_test_and_set_explicit(&l->held, memory_order_acquire);
       spins++) {
    if (spins >= 64) {
      if (pw__now_ns() > deadline) return false;
      sched_yield();
      spins = 0;
    } else {
      pw__cpu_relax();
    }
  }
  return true;
}

/* The same for the mutexes beside the registry (findings, census). */
static inline bool pw__mutex_lock_bounded(pthread_mutex_t *m) {
  if (pthread_mutex_trylock(m) == 0) return true;
  uint64_t deadline = pw__now_ns() + PW__LOCK_PATIENCE_NS;
  while (pthread_mutex_trylock(m) != 0) {
    if (pw__now_ns() > deadline) return false;
    sched_yield();
  }
  return true;
}

/* In a forked child: whoever held it in the parent does not exist here. */
static inline void pw__spin_reset(pw__spinlock *l) { atomic_flag_clear(&l->held); }

#endif
