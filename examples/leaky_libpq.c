/* A nightly report job with a classic leak: each report opens its own
 * connection, and the error path returns without PQfinish. One report's
 * query fails (its table does not exist), so one connection leaks per run.
 *
 *   LD_PRELOAD=libpoolwatch.so ./leaky_libpq
 *
 * poolwatch reports the leak at exit, opened in open_report_connection
 * called from run_report, with file and line. Connects through the PG*
 * environment variables (PGHOST, PGDATABASE, ...). */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

struct report {
  const char *name;
  const char *sql;
};

static PGconn *open_report_connection(const char *name) {
  PGconn *conn = PQconnectdb("application_name=leaky_libpq");
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "%s: cannot connect: %s", name, PQerrorMessage(conn));
    PQfinish(conn);
    return NULL;
  }
  return conn;
}

/* Returns 0 on success. */
static int run_report(const struct report *report) {
  PGconn *conn = open_report_connection(report->name);
  if (!conn) return -1;
  PGresult *res = PQexec(conn, report->sql);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    fprintf(stderr, "%s: query failed: %s", report->name, PQerrorMessage(conn));
    PQclear(res);
    return -1; /* the bug: conn is never finished on this path */
  }
  printf("%-10s %s\n", report->name, PQgetvalue(res, 0, 0));
  PQclear(res);
  PQfinish(conn);
  return 0;
}

int main(void) {
  static const struct report reports[] = {
    {"tables", "select count(*) from pg_class where relkind = 'r'"},
    {"sessions", "select count(*) from pg_stat_activity"},
    {"invoices", "select count(*) from invoices"}, /* no such table */
    {"size", "select pg_size_pretty(pg_database_size(current_database()))"},
  };
  int failed = 0;
  for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) failed += run_report(&reports[i]) != 0;
  printf("%d of %zu reports failed\n", failed, sizeof reports / sizeof reports[0]);
  return 0;
}
