/* Many threads connecting at once, as a threaded server does.
 *
 *   threads T K          T threads, each connects and finishes K times
 *   threads T K handoff  T threads open K connections each and queue them;
 *                        T other threads finish them, so every connection
 *                        is finished by a thread other than its opener
 *
 * Either way every connection is finished: the report must be clean, with
 * T*K connects and T*K closes. Connects through the PG* variables. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int per_thread;
static atomic_int failures;

/* The handoff queue: openers push, finishers pop; each finisher takes a
 * fixed share so the program ends without a sentinel. It is bounded so that
 * at most QUEUE_CAPACITY + T connections are open at once, well under the
 * server's max_connections however the threads get scheduled. */
#define QUEUE_CAPACITY 16
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t queue_space = PTHREAD_COND_INITIALIZER;
static PGconn *queue[QUEUE_CAPACITY];
static size_t queue_len;

static PGconn *connect_checked(void) {
  PGconn *conn = PQconnectdb("");
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "threads: connect failed: %s", PQerrorMessage(conn));
    atomic_fetch_add(&failures, 1);
  }
  return conn;
}

static void *connect_and_finish(void *arg) {
  (void)arg;
  for (int i = 0; i < per_thread; i++) PQfinish(connect_checked());
  return NULL;
}

static void *open_and_hand_off(void *arg) {
  (void)arg;
  for (int i = 0; i < per_thread; i++) {
    PGconn *conn = connect_checked();
    pthread_mutex_lock(&queue_lock);
    while (queue_len == QUEUE_CAPACITY) pthread_cond_wait(&queue_space, &queue_lock);
    queue[queue_len++] = conn;
    pthread_cond_signal(&queue_ready);
    pthread_mutex_unlock(&queue_lock);
  }
  return NULL;
}

static void *finish_handed_off(void *arg) {
  (void)arg;
  for (int i = 0; i < per_thread; i++) {
    pthread_mutex_lock(&queue_lock);
    while (queue_len == 0) pthread_cond_wait(&queue_ready, &queue_lock);
    PGconn *conn = queue[--queue_len];
    pthread_cond_signal(&queue_space);
    pthread_mutex_unlock(&queue_lock);
    PQfinish(conn);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: threads THREADS PER_THREAD [handoff]\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  per_thread = atoi(argv[2]);
  int handoff = argc > 3 && strcmp(argv[3], "handoff") == 0;
  if (threads < 1 || per_thread < 1) return 2;

  int count = handoff ? 2 * threads : threads;
  pthread_t *ids = calloc((size_t)count, sizeof *ids);
  for (int i = 0; i < count; i++) {
    void *(*body)(void *) = !handoff ? connect_and_finish : i % 2 ? finish_handed_off : open_and_hand_off;
    if (pthread_create(&ids[i], NULL, body, NULL) != 0) return 1;
  }
  for (int i = 0; i < count; i++) pthread_join(ids[i], NULL);
  free(ids);

  printf("threads done: %d connections%s\n", threads * per_thread, handoff ? " handed off" : "");
  return atomic_load(&failures) ? 1 : 0;
}
