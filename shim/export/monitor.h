/* Watching a process that never exits: one background thread per process,
 * started lazily only when something asks for it (leak threshold, growth
 * window, Prometheus export, live state), wakes every tick to check held
 * checkouts and refresh the exports. It never touches the hot path. */
#ifndef POOLWATCH_MONITOR_H
#define POOLWATCH_MONITOR_H

/* Starts the thread if the configuration wants it and it is not running
 * (after fork() the child has none until its first event). Cheap when
 * already running. */
void pw__monitor_ensure(void);
/* At exit: no more writes; the live state file is removed. */
void pw__monitor_stop(void);
/* In a forked child: the thread did not survive fork(). */
void pw__monitor_forget(void);

#endif
