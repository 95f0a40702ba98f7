/* fork() with connections open, as pre-forking servers and pg_dump -j do.
 * The parent opens two connections and forks; the child opens one of its
 * own, leaks it and exits without touching the two it inherited; the parent
 * then finishes one and leaks the other. Each process must report exactly
 * its own leak. Prints both pids so the test can tell the reports apart.
 * Connects through the PG* environment variables. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) PGconn *open_parent_conn(void) {
  PGconn *conn = PQconnectdb("application_name=fork_parent");
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "fork_child: parent connect failed: %s", PQerrorMessage(conn));
    exit(1);
  }
  return conn;
}

__attribute__((noinline)) PGconn *open_child_conn(void) {
  PGconn *conn = PQconnectdb("application_name=fork_child");
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "fork_child: child connect failed: %s", PQerrorMessage(conn));
    exit(1);
  }
  return conn;
}

int main(void) {
  PGconn *leaked = open_parent_conn();
  PGconn *finished = open_parent_conn();
  (void)leaked;

  fflush(stdout); /* or the child would print the parent's buffer again */
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    open_child_conn();
    exit(0);
  }

  int status;
  if (waitpid(child, &status, 0) != child) return 1;
  PQfinish(finished);
  printf("parent %ld child %ld child_status %d\n", (long)getpid(), (long)child,
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}
