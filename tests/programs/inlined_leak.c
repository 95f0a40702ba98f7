/* Built at -O2: the helpers below are inlined into main, as in a release
 * build. The report must still name them, innermost first, each with the
 * line it was called from. */
#include <libpq-fe.h>
#include <stdio.h>

static inline __attribute__((always_inline)) PGconn *open_inlined(void) {
  return PQconnectdb(""); /* pwtest:inlined_connect */
}

static inline __attribute__((always_inline)) PGconn *middle_inlined(void) {
  return open_inlined(); /* pwtest:middle_call */
}

int main(void) {
  PGconn *conn = middle_inlined(); /* pwtest:main_call */
  printf("status %d\n", PQstatus(conn) == CONNECTION_OK);
  return 0; /* CONN leaks */
}
