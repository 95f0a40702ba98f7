/* A C library that a Python program loads with ctypes and that connects
 * from a pthread of its own: a thread the interpreter never saw, with no
 * Python state (as in extensions that run their own workers). The
 * connection is left open. */
#include <pthread.h>
#include <stddef.h>

#include <libpq-fe.h>

static PGconn *leaked;

static void *connect_from_c_thread(void *arg) {
  (void)arg;
  leaked = PQconnectdb("application_name=c_thread"); /* pwtest:c_thread */
  return NULL;
}

int connect_in_c_thread(void) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, connect_from_c_thread, NULL) != 0) return -1;
  pthread_join(thread, NULL);
  return PQstatus(leaked) == CONNECTION_OK ? 0 : -1;
}
