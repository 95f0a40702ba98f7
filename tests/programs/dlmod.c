/* The extension module of dlopen_local: links libpq itself and is loaded
 * with RTLD_LOCAL, the way Python loads psycopg2's _psycopg.so and Perl
 * loads DBD::Pg. libpq's symbols are then invisible to dlsym(RTLD_NEXT). */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

/* Connections the module keeps, as a driver's connection cache would. */
static PGconn *kept[64];
static int kept_count;

__attribute__((noinline)) static PGconn *dlmod_open(const char *conninfo) {
  PGconn *conn = PQconnectdb(conninfo); /* pwtest:dlmod_open */
  if (PQstatus(conn) != CONNECTION_OK) fprintf(stderr, "dlmod: %s", PQerrorMessage(conn));
  return conn;
}

/* Opens N connections and keeps them open: they leak. Returns how many
 * connected. */
int dlmod_leak(int n) {
  int ok = 0;
  for (int i = 0; i < n && kept_count < 64; i++) {
    PGconn *conn = dlmod_open("application_name=dlmod_leak");
    ok += PQstatus(conn) == CONNECTION_OK;
    kept[kept_count++] = conn;
  }
  return ok;
}

/* Opens, uses and finishes one connection. Returns 0 on success. */
int dlmod_clean(void) {
  PGconn *conn = dlmod_open("application_name=dlmod_clean");
  PGresult *res = PQexec(conn, "select 1");
  int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
  PQclear(res);
  PQfinish(conn);
  return ok ? 0 : -1;
}
