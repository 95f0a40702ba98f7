/* exit() while another thread still holds a connection and is blocked, as a
 * server with a worker pool does when main returns. The report at exit must
 * neither hang on that thread nor crash, and shows its connection as leaked.
 * Connects through the PG* environment variables. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t opened_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int opened;

__attribute__((noinline)) static void *hold_connection_forever(void *arg) {
  (void)arg;
  PGconn *conn = PQconnectdb("application_name=exit_with_thread");
  if (PQstatus(conn) != CONNECTION_OK) fprintf(stderr, "exit_with_thread: %s", PQerrorMessage(conn));
  pthread_mutex_lock(&lock);
  opened = 1;
  pthread_cond_signal(&opened_cond);
  for (;;) pthread_cond_wait(&never, &lock); /* blocks forever, keeping conn open */
  return conn;
}

int main(void) {
  pthread_t worker;
  if (pthread_create(&worker, NULL, hold_connection_forever, NULL) != 0) return 1;
  pthread_mutex_lock(&lock);
  while (!opened) pthread_cond_wait(&opened_cond, &lock);
  pthread_mutex_unlock(&lock);
  printf("exit_with_thread: exiting with the worker still holding its connection\n");
  exit(0);
}
