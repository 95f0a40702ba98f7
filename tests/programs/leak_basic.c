/* Leaks libpq connections the way real programs do, from two call sites,
 * plus a failed connection that is never finished; the other connect APIs
 * are used once each and finished. The integration tests know the exact
 * numbers below, and find the connect lines by the "pwtest:" markers.
 *
 * Connects through the PG* environment variables.
 *   leak_basic               run
 *   leak_basic --wait-stdin  print "pid N", wait for a line on stdin, run
 *                            (lets a test plant files at poolwatch-N.*)
 */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

static void expect_ok(PGconn *conn, const char *what) {
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "leak_basic: %s: %s", what, PQerrorMessage(conn));
    failures++;
  }
}

/* noinline and work after each connect keep these functions' own frames in
 * the stack even when the compiler optimizes. */
__attribute__((noinline)) PGconn *open_report_db(void) {
  PGconn *conn = PQconnectdb(""); /* pwtest:open_report_db */
  expect_ok(conn, "open_report_db");
  return conn;
}

/* The password only tests redaction: the test cluster trusts everyone. */
__attribute__((noinline)) PGconn *open_session(void) {
  PGconn *conn = PQconnectdb("application_name=leak_basic password=s3cret"); /* pwtest:open_session */
  expect_ok(conn, "open_session");
  return conn;
}

/* PQconnectdb returns a PGconn even when the connect fails; it still has to
 * be finished. */
__attribute__((noinline)) PGconn *open_missing_db(void) {
  PGconn *conn = PQconnectdb("dbname=no_such_db"); /* pwtest:open_missing_db */
  if (PQstatus(conn) == CONNECTION_OK) {
    fprintf(stderr, "leak_basic: dbname=no_such_db unexpectedly connected\n");
    failures++;
  }
  return conn;
}

__attribute__((noinline)) void connect_with_params(void) {
  const char *const keywords[] = {"application_name", "password", NULL};
  const char *const values[] = {"leak_basic", "s3cret", NULL};
  PGconn *conn = PQconnectdbParams(keywords, values, 0);
  expect_ok(conn, "PQconnectdbParams");
  PQfinish(conn);
}

__attribute__((noinline)) void connect_with_login(void) {
  PGconn *conn = PQsetdbLogin(NULL, NULL, NULL, NULL, NULL, NULL, "s3cret");
  expect_ok(conn, "PQsetdbLogin");
  PQfinish(conn);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--wait-stdin") == 0) {
    char line[16];
    printf("pid %ld\n", (long)getpid());
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 1;
  }

  /* Three report connections, one finished: two leak from one stack. */
  PGconn *reports[3];
  for (int i = 0; i < 3; i++) reports[i] = open_report_db();
  PQfinish(reports[0]);

  open_session();    /* leaked */
  open_missing_db(); /* leaked, never connected */

  connect_with_params();
  connect_with_login();

  printf("leak_basic done\n");
  return failures ? 1 : 0;
}
