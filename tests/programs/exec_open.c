/* A process that calls exec with a connection still open: that image's
 * report must be written before it is replaced.
 *
 *   exec_open PROGRAM [ARGS...]   opens two connections, finishes one,
 *                                 then execv()s PROGRAM
 *   exec_open --fail              the same, but the exec fails (no such
 *                                 file); the process goes on, finishes
 *                                 nothing more, and exits 0 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) static PGconn *open_before_exec(void) {
  return PQconnectdb("application_name=exec_open"); /* pwtest:open_before_exec */
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  PGconn *kept = open_before_exec();
  PQfinish(PQconnectdb("application_name=exec_open_finished"));
  printf("exec_open: connected %d\n", PQstatus(kept) == CONNECTION_OK);
  fflush(stdout);
  if (strcmp(argv[1], "--fail") == 0) {
    char *args[] = {"/nonexistent/program", NULL};
    int status = execv(args[0], args);
    printf("exec_open: exec failed (%d, %s)\n", status, strerror(errno));
    return 0;
  }
  execv(argv[1], argv + 1);
  perror("exec_open");
  return 127;
}
