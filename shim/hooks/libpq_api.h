/* The libpq functions poolwatch wraps, listed once: each hook, the table of
 * a libpq copy's real functions and the hooks handed out per copy are all
 * generated from these lists. */
#ifndef POOLWATCH_LIBPQ_API_H
#define POOLWATCH_LIBPQ_API_H

#include <libpq-fe.h>

/* X(name, return type, (parameters), (arguments), RETURN), where RETURN is
 * `return` for a function with a value and empty for a void one. */
#define PW__LIBPQ_HOOKS(X)                                                                      \
  X(PQconnectdb, PGconn *, (const char *conninfo), (conninfo), return)                          \
  X(PQconnectdbParams, PGconn *,                                                                \
    (const char *const *keywords, const char *const *values, int expand_dbname),              \
    (keywords, values, expand_dbname), return)                                                  \
  X(PQsetdbLogin, PGconn *,                                                                     \
    (const char *host, const char *port, const char *options, const char *tty,                \
     const char *dbname, const char *user, const char *password),                             \
    (host, port, options, tty, dbname, user, password), return)                                 \
  X(PQconnectStart, PGconn *, (const char *conninfo), (conninfo), return)                       \
  X(PQconnectStartParams, PGconn *,                                                             \
    (const char *const *keywords, const char *const *values, int expand_dbname),              \
    (keywords, values, expand_dbname), return)                                                  \
  X(PQconnectPoll, PostgresPollingStatusType, (PGconn * conn), (conn), return)                  \
  X(PQreset, void, (PGconn * conn), (conn), )                                                   \
  X(PQresetStart, int, (PGconn * conn), (conn), return)                                         \
  X(PQfinish, void, (PGconn * conn), (conn), )                                                  \
  X(PQping, PGPing, (const char *conninfo), (conninfo), return)                                 \
  X(PQpingParams, PGPing,                                                                       \
    (const char *const *keywords, const char *const *values, int expand_dbname),              \
    (keywords, values, expand_dbname), return)

/* Functions poolwatch calls itself, always in the copy that made the
 * connection. */
#define PW__LIBPQ_HELPERS(X) \
  X(PQstatus)                \
  X(PQtransactionStatus)

#define PW__LIBPQ_INDEX(name, ...) PW__LIBPQ_##name,
enum { PW__LIBPQ_HOOKS(PW__LIBPQ_INDEX) PW__LIBPQ_HOOK_COUNT };
#undef PW__LIBPQ_INDEX

#endif
