/* An annotated pool whose name comes from the command line, for names no
 * programmer should choose but some do: a URL with a password, a tab, a
 * newline, an escape code, a Latin-1 byte. It opens one connection into the
 * pool, checks it out and never gives it back.
 *
 *   named_pool NAME [hold] [ARG...]
 *
 * NAME "-" declares no pool: the connection stays in the implicit libpq
 * pool, held the whole time.
 *
 * With "hold" it prints "held" once the checkout is made and waits for a
 * line on stdin before exiting, so a test can read the live exports. The
 * other arguments are ignored: tests put secrets there to see that the
 * report's argv hides them. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <poolwatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: named_pool NAME [hold] [ARG...]\n");
    return 2;
  }
  bool annotated = strcmp(argv[1], "-") != 0;
  pw_pool *pool = annotated ? pw_pool_declare(argv[1], 1, 1) : NULL;
  PGconn *conn = PQconnectdb("");
  if (annotated) {
    pw_conn_opened(pool, conn, PQstatus(conn) == CONNECTION_OK);
    pw_checkout_begin(pool);
    pw_checkout_end(pool, conn);
  }
  if (argc > 2 && strcmp(argv[2], "hold") == 0) {
    printf("held\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin)) return 1;
  }
  printf("named_pool done\n");
  return 0;
}
