/* A lock for the registry's shards. Every critical section under it is a
 * few hash-table operations, never a call that can block, so waiting by
 * spinning is cheaper than a mutex: an uncontended lock and unlock cost
 * two instructions instead of two library calls. A waiter that spins too
 * long (the holder was preempted) yields the processor. */
#ifndef POOLWATCH_SPINLOCK_H
#define POOLWATCH_SPINLOCK_H

#include <sched.h>
#include <stdatomic.h>

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

/* In a forked child: whoever held it in the parent does not exist here. */
static inline void pw__spin_reset(pw__spinlock *l) { atomic_flag_clear(&l->held); }

#endif
