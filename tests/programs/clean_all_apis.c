/* Uses every connection API libpq has and finishes every connection: a
 * correct program, which must get a clean report. Blocking connects, async
 * connects driven by poll() and by select() the way event loops do, pings
 * (which open and close a connection inside libpq), and both kinds of reset.
 * Five connections are made and two resets done; the test checks those
 * numbers. Connects through the PG* environment variables. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>

static int failures;

static void check(int ok, const char *what, PGconn *conn) {
  if (!ok) {
    fprintf(stderr, "clean_all_apis: %s failed: %s", what, conn ? PQerrorMessage(conn) : "\n");
    failures++;
  }
}

/* Waits until the socket is ready the way POLL asks, with poll(). */
static void wait_poll(PGconn *conn, PostgresPollingStatusType want) {
  struct pollfd pfd = {.fd = PQsocket(conn), .events = want == PGRES_POLLING_READING ? POLLIN : POLLOUT};
  poll(&pfd, 1, 10000);
}

/* The same with select(), as older event loops do. */
static void wait_select(PGconn *conn, PostgresPollingStatusType want) {
  int fd = PQsocket(conn);
  fd_set set;
  FD_ZERO(&set);
  FD_SET(fd, &set);
  struct timeval timeout = {.tv_sec = 10};
  select(fd + 1, want == PGRES_POLLING_READING ? &set : NULL, want == PGRES_POLLING_WRITING ? &set : NULL,
         NULL, &timeout);
}

/* Drives a connect or reset to its end. The first poll is implicitly
 * WRITING, as libpq's documentation says. */
static PostgresPollingStatusType drive(PGconn *conn, PostgresPollingStatusType (*step)(PGconn *),
                                       void (*wait)(PGconn *, PostgresPollingStatusType)) {
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED) {
    wait(conn, status);
    status = step(conn);
  }
  return status;
}

int main(void) {
  PGconn *conn = PQconnectdb("");
  check(PQstatus(conn) == CONNECTION_OK, "PQconnectdb", conn);
  PQreset(conn);
  check(PQstatus(conn) == CONNECTION_OK, "PQreset", conn);
  PQfinish(conn);

  const char *const keywords[] = {"application_name", NULL};
  const char *const values[] = {"clean", NULL};
  conn = PQconnectdbParams(keywords, values, 0);
  check(PQstatus(conn) == CONNECTION_OK, "PQconnectdbParams", conn);
  check(PQresetStart(conn) == 1, "PQresetStart", conn);
  check(drive(conn, PQresetPoll, wait_poll) == PGRES_POLLING_OK, "PQresetPoll", conn);
  PQfinish(conn);

  conn = PQsetdbLogin(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  check(PQstatus(conn) == CONNECTION_OK, "PQsetdbLogin", conn);
  PQfinish(conn);

  conn = PQconnectStart("");
  check(conn && PQstatus(conn) != CONNECTION_BAD, "PQconnectStart", conn);
  check(drive(conn, PQconnectPoll, wait_select) == PGRES_POLLING_OK, "PQconnectPoll (select)", conn);
  PQfinish(conn);

  conn = PQconnectStartParams(keywords, values, 0);
  check(conn && PQstatus(conn) != CONNECTION_BAD, "PQconnectStartParams", conn);
  check(drive(conn, PQconnectPoll, wait_poll) == PGRES_POLLING_OK, "PQconnectPoll (poll)", conn);
  PQfinish(conn);

  check(PQping("") == PQPING_OK, "PQping", NULL);
  check(PQpingParams(keywords, values, 0) == PQPING_OK, "PQpingParams", NULL);

  printf("clean_all_apis done\n");
  return failures ? 1 : 0;
}
