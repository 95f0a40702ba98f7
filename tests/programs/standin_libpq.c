/* A stand-in libpq of the tests' own: it exports the functions dlmod.c
 * calls (PQconnectdb, PQstatus, PQexec, PQfinish, ...) over its own
 * connection struct, and talks to no server. Loaded beside the real libpq
 * in one process, it catches a call forwarded to the wrong copy: a PGconn
 * of the other copy fails its magic check, and the process aborts. */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAGIC 0x5354414e44494e21ull /* "STANDIN!" */

struct pg_conn {
  uint64_t magic;
  int finished;
};

struct pg_result {
  uint64_t magic;
};

static PGconn *checked(const PGconn *conn, const char *function) {
  if (!conn || conn->magic != MAGIC) {
    fprintf(stderr, "standin: %s got a PGconn that is not the stand-in's\n", function);
    abort();
  }
  return (PGconn *)conn;
}

PGconn *PQconnectStart(const char *conninfo) {
  (void)conninfo;
  PGconn *conn = calloc(1, sizeof(*conn));
  if (conn) conn->magic = MAGIC;
  return conn;
}

PGconn *PQconnectdb(const char *conninfo) { return PQconnectStart(conninfo); }

PostgresPollingStatusType PQconnectPoll(PGconn *conn) {
  checked(conn, "PQconnectPoll");
  return PGRES_POLLING_OK;
}

ConnStatusType PQstatus(const PGconn *conn) {
  return checked(conn, "PQstatus")->finished ? CONNECTION_BAD : CONNECTION_OK;
}

PGTransactionStatusType PQtransactionStatus(const PGconn *conn) {
  checked(conn, "PQtransactionStatus");
  return PQTRANS_IDLE;
}

char *PQerrorMessage(const PGconn *conn) {
  checked(conn, "PQerrorMessage");
  return "";
}

PGresult *PQexec(PGconn *conn, const char *query) {
  checked(conn, "PQexec");
  (void)query;
  PGresult *res = calloc(1, sizeof(*res));
  if (res) res->magic = MAGIC;
  return res;
}

ExecStatusType PQresultStatus(const PGresult *res) {
  return res && res->magic == MAGIC ? PGRES_TUPLES_OK : PGRES_FATAL_ERROR;
}

void PQclear(PGresult *res) { free(res); }

void PQfinish(PGconn *conn) {
  if (!conn) return;
  checked(conn, "PQfinish");
  conn->magic = 0;
  free(conn);
}
