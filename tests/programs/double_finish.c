/* Finishes one connection twice, a bug real programs have on error paths.
 * poolwatch reports it as a double_finish finding and does not forward the
 * second PQfinish to libpq. Without the shim the second call is a
 * use-after-free, so this program is only ever run under the shim.
 * Connects through the PG* environment variables. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>

__attribute__((noinline)) void close_twice(PGconn *conn) {
  PQfinish(conn);
  PQfinish(conn); /* pwtest:second_finish */
}

int main(void) {
  PGconn *conn = PQconnectdb("application_name=double_finish");
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "double_finish: %s", PQerrorMessage(conn));
    return 1;
  }
  close_twice(conn);
  printf("double_finish done\n");
  return 0;
}
