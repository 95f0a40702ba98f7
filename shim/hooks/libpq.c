/* The libpq connection lifecycle, interposed. Each hook forwards the call
 * untouched to the libpq its caller would have reached without poolwatch,
 * and reports the event to the registry.
 *
 * A hook is reached three ways, all ending in one hook_NAME function:
 * - through the program's PLT, as poolwatch's exported NAME (the preload
 *   puts it first in the global scope);
 * - through a function pointer that dlsym handed out (hooks/dl.c), as
 *   copyN_NAME, bound to libpq copy N;
 * - through a GOT entry rewritten in an RTLD_DEEPBIND object (hooks/got.c),
 *   also as copyN_NAME.
 * Only the outermost call of a thread counts: libpq calls its own exported
 * functions (PQconnectdb -> PQconnectStart -> PQconnectPoll, PQping ->
 * PQconnectStart + PQfinish) through the PLT. */
#include <errno.h>
#include <stdlib.h>

#include "common/clock.h"
#include "core/redact.h"
#include "core/registry.h"
#include "hooks/guard.h"
#include "hooks/libpq_copies.h"
#include "hooks/lifecycle.h"
#include "hooks/resolve.h"

#define PW__ARGS(...) __VA_ARGS__

/* One hooked call: whether it is the outermost, when it began, the code
 * that called it and the libpq copy that serves it. */
typedef struct call {
  bool outermost;
  uint64_t start_ns;
  const void *caller;
  const pw__libpq *pq;
} call;

/* START_NS is read only by the hooks that time their call (a connect, a
 * reset): PQfinish and PQconnectPoll have no use for it, and a clock read
 * is some 30 instructions of every connect. */
static call call_begin(const pw__libpq *pq, const void *caller, bool timed) {
  pw__init();
  call c = {pw__enter(&pw__thread.libpq_depth), timed ? pw__now_ns() : 0, caller, pq};
  if (c.outermost) pw__thread.libpq_copy = pq;
  return c;
}

static void call_end(void) { pw__leave(&pw__thread.libpq_depth); }

static pw__connect_state state_of(const call *c, PGconn *conn, bool async) {
  if (!conn) return PW__FAILED;
  if (!c->pq || !c->pq->PQstatus) return async ? PW__CONNECTING : PW__CONNECTED;
  ConnStatusType status = c->pq->PQstatus(conn);
  if (status == CONNECTION_BAD) return PW__FAILED;
  if (status == CONNECTION_OK) return PW__CONNECTED;
  return async ? PW__CONNECTING : PW__FAILED;
}

/* Records a connect call that returned CONN. A connection opened inside a
 * pool's own call (libzdb opens its connections with PQconnectdb) belongs
 * to that pool, not to `libpq`. Inlined into each connect hook: a call of
 * its own cost some twenty instructions a connect. */
static inline __attribute__((always_inline)) void opened(const call *c, PGconn *conn,
                                                        char *conninfo, bool async) {
  int saved = errno;
  uint64_t end = pw__now_ns();
  pw__pool *owner = pw__owning_pool(c->caller);
  pw__pool *pool = owner ? owner : pw__pool_libpq();
  if (owner) pw__thread.opened = conn;
  /* Inside a pool's call the program waits on the checkout, which is
   * timed there; only a program's own blocking connect is its wait. */
  bool blocking = !async && !owner;
  pw__conn_opened(pool, conn, pw__capture(), conninfo, state_of(c, conn, async), blocking,
                  c->start_ns, end);
  errno = saved;
}

/* The five ways to open a connection share one shape: forward, then record
 * the new PGconn with its redacted connection string. */
#define CONNECT_HOOK(name, params, args, redacted_conninfo, async)                  \
  static PGconn *hook_##name(const pw__libpq *pq, __typeof__(name) *real,          \
                             const void *caller, PW__ARGS params) {                \
    if (!real) return NULL;                                                        \
    call c = call_begin(pq, caller, true);                                         \
    PGconn *conn = real(PW__ARGS args);                                            \
    if (c.outermost) opened(&c, conn, redacted_conninfo, async);                   \
    call_end();                                                                    \
    return conn;                                                                   \
  }

CONNECT_HOOK(PQconnectdb, (const char *conninfo), (conninfo), pw__redact_conninfo(conninfo),
             false)
CONNECT_HOOK(PQconnectdbParams,
             (const char *const *keywords, const char *const *values, int expand_dbname),
             (keywords, values, expand_dbname),
             pw__redact_params(keywords, values, expand_dbname), false)
CONNECT_HOOK(PQsetdbLogin,
             (const char *host, const char *port, const char *options, const char *tty,
              const char *dbname, const char *user, const char *password),
             (host, port, options, tty, dbname, user, password),
             pw__redact_login(host, port, dbname, user, password), false)
CONNECT_HOOK(PQconnectStart, (const char *conninfo), (conninfo), pw__redact_conninfo(conninfo),
             true)
CONNECT_HOOK(PQconnectStartParams,
             (const char *const *keywords, const char *const *values, int expand_dbname),
             (keywords, values, expand_dbname),
             pw__redact_params(keywords, values, expand_dbname), true)

/* An asynchronous connect ends when polling reaches OK or FAILED; that is
 * when its connect time stops. */
static PostgresPollingStatusType hook_PQconnectPoll(const pw__libpq *pq,
                                                    __typeof__(PQconnectPoll) *real,
                                                    const void *caller, PGconn *conn) {
  if (!real) return PGRES_POLLING_FAILED;
  call c = call_begin(pq, caller, false);
  PostgresPollingStatusType status = real(conn);
  if (c.outermost && conn && (status == PGRES_POLLING_OK || status == PGRES_POLLING_FAILED)) {
    int saved = errno;
    pw__conn_connect_done(conn, status == PGRES_POLLING_OK, pw__now_ns());
    errno = saved;
  }
  call_end();
  return status;
}

/* A reset reconnects the same PGconn: a reconnect, not a new connection. */
static void hook_PQreset(const pw__libpq *pq, __typeof__(PQreset) *real, const void *caller,
                         PGconn *conn) {
  if (!real) return;
  call c = call_begin(pq, caller, true);
  real(conn);
  if (c.outermost && conn) {
    int saved = errno;
    pw__conn_reset(conn, state_of(&c, conn, false), c.start_ns, pw__now_ns());
    errno = saved;
  }
  call_end();
}

static int hook_PQresetStart(const pw__libpq *pq, __typeof__(PQresetStart) *real,
                             const void *caller, PGconn *conn) {
  if (!real) return 0;
  call c = call_begin(pq, caller, true);
  int started = real(conn);
  if (c.outermost && conn) {
    int saved = errno;
    pw__conn_reset(conn, started ? PW__CONNECTING : PW__FAILED, c.start_ns, pw__now_ns());
    errno = saved;
  }
  call_end();
  return started;
}

/* The connection is unregistered before the real PQfinish: once freed, its
 * address can be handed to another thread's new PGconn at once. */
static void hook_PQfinish(const pw__libpq *pq, __typeof__(PQfinish) *real, const void *caller,
                          PGconn *conn) {
  if (!real) return;
  call c = call_begin(pq, caller, false);
  bool forward = true;
  if (c.outermost && conn) {
    int saved = errno;
    forward = pw__conn_finishing(conn, pw__capture());
    errno = saved;
  }
  if (forward) real(conn);
  call_end();
}

/* A ping connects and finishes inside libpq: not a connection. Entering
 * the guard makes those inner calls nested. */
static PGPing hook_PQping(const pw__libpq *pq, __typeof__(PQping) *real, const void *caller,
                          const char *conninfo) {
  if (!real) return PQPING_NO_ATTEMPT;
  call_begin(pq, caller, false);
  PGPing result = real(conninfo);
  call_end();
  return result;
}

static PGPing hook_PQpingParams(const pw__libpq *pq, __typeof__(PQpingParams) *real,
                                const void *caller, const char *const *keywords,
                                const char *const *values, int expand_dbname) {
  if (!real) return PQPING_NO_ATTEMPT;
  call_begin(pq, caller, false);
  PGPing result = real(keywords, values, expand_dbname);
  call_end();
  return result;
}

/* ---- reached through the PLT --------------------------------------------- */

/* A call from inside a hooked call comes from libpq itself, which calls
 * its own exported functions (PQconnectdb polls with PQconnectPoll several
 * times a connect): it goes straight to the copy already serving the
 * thread, with no lookup and nothing recorded. The outermost call's work is
 * a function of its own, so the inner calls' path saves no registers: a
 * few loads and a jump (it was 25 instructions, four times a connect). */
#define EXPORTED_HOOK(name, ret, params, args, RETURN)                             \
  PW__REAL(name)                                                                   \
  __attribute__((noinline)) static ret outermost_##name(const void *caller,        \
                                                        PW__ARGS params) {         \
    __typeof__(name) *real = real_##name(caller);                                  \
    RETURN hook_##name(pw__libpq_copy_of((const void *)real), real, caller,        \
                       PW__ARGS args);                                             \
  }                                                                                \
  PW__EXPORT ret name params {                                                     \
    const pw__libpq *pq = pw__thread.libpq_depth ? pw__thread.libpq_copy : NULL;   \
    __typeof__(name) *real = pq ? pq->name : NULL;                                 \
    if (real) {                                                                    \
      RETURN real(PW__ARGS args);                                                  \
    } else {                                                                       \
      RETURN outermost_##name(__builtin_return_address(0), PW__ARGS args);         \
    }                                                                              \
  }
PW__LIBPQ_HOOKS(EXPORTED_HOOK)

/* ---- handed out per copy, for dlsym and RTLD_DEEPBIND callers ------------- */

#define COPY_HOOK(slot, name, ret, params, args, RETURN)                           \
  static ret copy##slot##_##name params {                                          \
    const pw__libpq *pq = &pw__libpq_copies[slot];                                 \
    RETURN hook_##name(pq, pq->name, __builtin_return_address(0), PW__ARGS args);  \
  }
#define COPY_ENTRY(slot, name, ...) (void *)copy##slot##_##name,

#define COPY0(...) COPY_HOOK(0, __VA_ARGS__)
#define COPY1(...) COPY_HOOK(1, __VA_ARGS__)
#define COPY2(...) COPY_HOOK(2, __VA_ARGS__)
#define COPY3(...) COPY_HOOK(3, __VA_ARGS__)
#define COPY4(...) COPY_HOOK(4, __VA_ARGS__)
#define COPY5(...) COPY_HOOK(5, __VA_ARGS__)
#define COPY6(...) COPY_HOOK(6, __VA_ARGS__)
#define COPY7(...) COPY_HOOK(7, __VA_ARGS__)
PW__LIBPQ_HOOKS(COPY0)
PW__LIBPQ_HOOKS(COPY1)
PW__LIBPQ_HOOKS(COPY2)
PW__LIBPQ_HOOKS(COPY3)
PW__LIBPQ_HOOKS(COPY4)
PW__LIBPQ_HOOKS(COPY5)
PW__LIBPQ_HOOKS(COPY6)
PW__LIBPQ_HOOKS(COPY7)

#define ENTRY0(...) COPY_ENTRY(0, __VA_ARGS__)
#define ENTRY1(...) COPY_ENTRY(1, __VA_ARGS__)
#define ENTRY2(...) COPY_ENTRY(2, __VA_ARGS__)
#define ENTRY3(...) COPY_ENTRY(3, __VA_ARGS__)
#define ENTRY4(...) COPY_ENTRY(4, __VA_ARGS__)
#define ENTRY5(...) COPY_ENTRY(5, __VA_ARGS__)
#define ENTRY6(...) COPY_ENTRY(6, __VA_ARGS__)
#define ENTRY7(...) COPY_ENTRY(7, __VA_ARGS__)
_Static_assert(PW__LIBPQ_MAX_COPIES == 8, "one COPYn and ENTRYn line per copy");
void *const pw__libpq_copy_hooks[PW__LIBPQ_MAX_COPIES][PW__LIBPQ_HOOK_COUNT] = {
    {PW__LIBPQ_HOOKS(ENTRY0)}, {PW__LIBPQ_HOOKS(ENTRY1)}, {PW__LIBPQ_HOOKS(ENTRY2)},
    {PW__LIBPQ_HOOKS(ENTRY3)}, {PW__LIBPQ_HOOKS(ENTRY4)}, {PW__LIBPQ_HOOKS(ENTRY5)},
    {PW__LIBPQ_HOOKS(ENTRY6)}, {PW__LIBPQ_HOOKS(ENTRY7)},
};
