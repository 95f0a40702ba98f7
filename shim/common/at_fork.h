/* Fork handlers, registered as pthread_atfork registers them. */
#ifndef POOLWATCH_AT_FORK_H
#define POOLWATCH_AT_FORK_H

/* glibc's pthread_atfork is a stub linked into the library from
 * libc_nonshared.a; it lands at the end of the code, a page of its own
 * that every process would fault in when the constructor calls it. This
 * is the call it makes: the handlers go when the library is unloaded. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);
extern void *__dso_handle __attribute__((visibility("hidden")));

static inline int pw__at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
  return __register_atfork(prepare, parent, child, __dso_handle);
}

#endif
