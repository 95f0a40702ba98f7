/* The libpq connection lifecycle, interposed. Each hook resolves the real
 * function, forwards the call untouched, and reports the event to the
 * registry. Only the outermost call of a thread counts: libpq calls its own
 * exported functions (PQconnectdb -> PQconnectStart -> PQconnectPoll,
 * PQping -> PQconnectStart + PQfinish) through the PLT. */
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include "common/clock.h"
#include "hooks/guard.h"
#include "hooks/lifecycle.h"
#include "core/redact.h"
#include "core/registry.h"
#include "hooks/resolve.h"

#define LIBPQ "libpq.so"

PW__REAL(LIBPQ, PQconnectdb)
PW__REAL(LIBPQ, PQconnectdbParams)
PW__REAL(LIBPQ, PQsetdbLogin)
PW__REAL(LIBPQ, PQconnectStart)
PW__REAL(LIBPQ, PQconnectStartParams)
PW__REAL(LIBPQ, PQconnectPoll)
PW__REAL(LIBPQ, PQreset)
PW__REAL(LIBPQ, PQresetStart)
PW__REAL(LIBPQ, PQfinish)
PW__REAL(LIBPQ, PQping)
PW__REAL(LIBPQ, PQpingParams)
PW__REAL(LIBPQ, PQstatus)

/* One hooked call: whether it is the outermost, when it began, and the
 * code that called it. */
typedef struct call {
  bool outermost;
  uint64_t start_ns;
  const void *caller;
} call;

#define call_begin() call_begin_from(__builtin_return_address(0))

static call call_begin_from(const void *caller) {
  pw__init();
  return (call){pw__enter(&pw__thread.libpq_depth), pw__now_ns(), caller};
}

static void call_end(void) { pw__leave(&pw__thread.libpq_depth); }

static pw__connect_state state_of(PGconn *conn, bool async) {
  ConnStatusType status = conn && real_PQstatus() ? real_PQstatus()(conn) : CONNECTION_BAD;
  if (status == CONNECTION_BAD) return PW__FAILED;
  if (status == CONNECTION_OK) return PW__CONNECTED;
  return async ? PW__CONNECTING : PW__FAILED;
}

/* Records a connect call that returned CONN. A connection opened inside a
 * pool's own call (libzdb opens its connections with PQconnectdb) belongs
 * to that pool, not to `libpq`. */
static void opened(const call *c, PGconn *conn, char *conninfo, bool async) {
  int saved = errno;
  uint64_t end = pw__now_ns();
  pw__pool *owner = pw__owning_pool(c->caller);
  pw__pool *pool = owner ? owner : pw__pool_libpq();
  if (owner) pw__thread.opened = conn;
  /* Inside a pool's call the program waits on the checkout, which is
   * timed there; only a program's own blocking connect is its wait. */
  bool blocking = !async && !owner;
  pw__conn_opened(pool, conn, pw__capture(), conninfo, state_of(conn, async), blocking,
                  c->start_ns, end);
  errno = saved;
}

PW__EXPORT PGconn *PQconnectdb(const char *conninfo) {
  if (!real_PQconnectdb()) return NULL;
  call c = call_begin();
  PGconn *conn = real_PQconnectdb()(conninfo);
  if (c.outermost) opened(&c, conn, pw__redact_conninfo(conninfo), false);
  call_end();
  return conn;
}

PW__EXPORT PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values,
                                     int expand_dbname) {
  if (!real_PQconnectdbParams()) return NULL;
  call c = call_begin();
  PGconn *conn = real_PQconnectdbParams()(keywords, values, expand_dbname);
  if (c.outermost) opened(&c, conn, pw__redact_params(keywords, values, expand_dbname), false);
  call_end();
  return conn;
}

PW__EXPORT PGconn *PQsetdbLogin(const char *host, const char *port, const char *options,
                                const char *tty, const char *dbname, const char *user,
                                const char *password) {
  if (!real_PQsetdbLogin()) return NULL;
  call c = call_begin();
  PGconn *conn = real_PQsetdbLogin()(host, port, options, tty, dbname, user, password);
  if (c.outermost) opened(&c, conn, pw__redact_login(host, port, dbname, user, password), false);
  call_end();
  return conn;
}

PW__EXPORT PGconn *PQconnectStart(const char *conninfo) {
  if (!real_PQconnectStart()) return NULL;
  call c = call_begin();
  PGconn *conn = real_PQconnectStart()(conninfo);
  if (c.outermost) opened(&c, conn, pw__redact_conninfo(conninfo), true);
  call_end();
  return conn;
}

PW__EXPORT PGconn *PQconnectStartParams(const char *const *keywords, const char *const *values,
                                        int expand_dbname) {
  if (!real_PQconnectStartParams()) return NULL;
  call c = call_begin();
  PGconn *conn = real_PQconnectStartParams()(keywords, values, expand_dbname);
  if (c.outermost) opened(&c, conn, pw__redact_params(keywords, values, expand_dbname), true);
  call_end();
  return conn;
}

/* An asynchronous connect ends when polling reaches OK or FAILED; that is
 * when its connect time stops. */
PW__EXPORT PostgresPollingStatusType PQconnectPoll(PGconn *conn) {
  if (!real_PQconnectPoll()) return PGRES_POLLING_FAILED;
  call c = call_begin();
  PostgresPollingStatusType status = real_PQconnectPoll()(conn);
  if (c.outermost && conn && (status == PGRES_POLLING_OK || status == PGRES_POLLING_FAILED)) {
    int saved = errno;
    pw__conn_connect_done(conn, status == PGRES_POLLING_OK, pw__now_ns());
    errno = saved;
  }
  call_end();
  return status;
}

/* A reset reconnects the same PGconn: a reconnect, not a new connection. */
PW__EXPORT void PQreset(PGconn *conn) {
  if (!real_PQreset()) return;
  call c = call_begin();
  real_PQreset()(conn);
  if (c.outermost && conn) {
    int saved = errno;
    pw__conn_reset(conn, state_of(conn, false), c.start_ns, pw__now_ns());
    errno = saved;
  }
  call_end();
}

PW__EXPORT int PQresetStart(PGconn *conn) {
  if (!real_PQresetStart()) return 0;
  call c = call_begin();
  int started = real_PQresetStart()(conn);
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
PW__EXPORT void PQfinish(PGconn *conn) {
  if (!real_PQfinish()) return;
  call c = call_begin();
  bool forward = true;
  if (c.outermost && conn) {
    int saved = errno;
    forward = pw__conn_finishing(conn, pw__capture());
    errno = saved;
  }
  if (forward) real_PQfinish()(conn);
  call_end();
}

/* A ping connects and finishes inside libpq: not a connection. Entering
 * the guard makes those inner calls nested. */
PW__EXPORT PGPing PQping(const char *conninfo) {
  if (!real_PQping()) return PQPING_NO_ATTEMPT;
  call_begin();
  PGPing result = real_PQping()(conninfo);
  call_end();
  return result;
}

PW__EXPORT PGPing PQpingParams(const char *const *keywords, const char *const *values,
                               int expand_dbname) {
  if (!real_PQpingParams()) return PQPING_NO_ATTEMPT;
  call_begin();
  PGPing result = real_PQpingParams()(keywords, values, expand_dbname);
  call_end();
  return result;
}
