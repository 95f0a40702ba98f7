/* Ends without exit(): `abrupt_end _exit` opens a connection and calls
 * _exit(7); `abrupt_end signal` opens one and dies by SIGTERM. Neither
 * runs exit handlers, so poolwatch writes nothing; it must not hang or
 * crash, change the status, or leave partial files behind. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  PGconn *conn = PQconnectdb("");
  printf("connected %d\n", PQstatus(conn) == CONNECTION_OK);
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "signal") == 0) raise(SIGTERM);
  _exit(7);
}
