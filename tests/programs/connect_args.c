/* Opens one connection per argument and never finishes any, so their
 * conninfo shows up in the report; used to check that passwords are
 * redacted in every form a program can pass them.
 *
 *   connect_args CONNINFO...       PQconnectdb(CONNINFO)
 *   connect_args params:DBNAME...  PQconnectdbParams with dbname=DBNAME and
 *                                  expand_dbname=1, so DBNAME may be a URI
 *                                  or a conninfo string itself */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  int connected = 0;
  for (int i = 1; i < argc; i++) {
    PGconn *conn;
    if (strncmp(argv[i], "params:", 7) == 0) {
      const char *const keywords[] = {"dbname", NULL};
      const char *const values[] = {argv[i] + 7, NULL};
      conn = PQconnectdbParams(keywords, values, 1);
    } else {
      conn = PQconnectdb(argv[i]);
    }
    connected += PQstatus(conn) == CONNECTION_OK;
  }
  printf("connect_args: %d of %d connected\n", connected, argc - 1);
  return 0;
}
