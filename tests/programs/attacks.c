/* Hostile but realistic hosts for poolwatch's reliability battery: each
 * mode does one thing a real program does at a bad moment. The tests run
 * each mode with and without the shim and compare status, output and files.
 *
 *   attacks signal_exit SEED     a hot loop of checkouts on an annotated pool
 *                                and one leaked connection; a second thread
 *                                sends SIGUSR1 after a SEED-chosen delay, and
 *                                the handler calls exit(3)
 *   attacks buffered STATUS      leaks a connection, leaves "buffered line" in
 *                                stdout's buffer and exits with STATUS
 *   attacks daemon_fds DIR       started with fds 0-2 closed: connects, then
 *                                opens DIR/log0..2 and writes to each which
 *                                descriptor it got, leaks the connection
 *   attacks lib_destructor FILE  a library (attacks_dtor.c) opens a connection
 *                                that its destructor closes, writing to FILE;
 *                                main leaks one connection of its own
 *   attacks atexit_finish        an atexit handler finishes the connection
 *   attacks monitor_quiet FILE   leaks a connection, waits for the Prometheus
 *                                export (POOLWATCH_PROMETHEUS) and returns; a
 *                                library's destructor removes the export and
 *                                writes to FILE whether it came back
 *   attacks fork_gmtime N        a thread calls localtime_r and gmtime_r in a
 *                                loop while main forks N children that each
 *                                connect and finish; prints how many ended
 *   attacks held_race T SECONDS  T threads check out and in on one pool as
 *                                fast as they can for SECONDS
 *   attacks churn T N            T threads: half do N/100 connect+finish, half
 *                                N checkout+checkin pairs; prints the counts
 *   attacks annotated N          N checkout+checkin pairs on an annotated pool
 *                                from two call sites, one checkout leaked
 *   attacks hold_annotated       checks one connection out of an annotated pool
 *                                (no server needed), prints "held", waits for
 *                                a line on stdin, returns it
 *   attacks thread_exit          4 threads in checkout loops; one calls exit(5)
 *   attacks end HOW              leaks a connection with "unflushed" in
 *                                stdout's buffer, then HOW: _exit, abort
 *   attacks fork_held            a thread holds a checkout while main forks a
 *                                child that checks out and in 10 times
 *   attacks spawn                posix_spawn and vfork+exec of /bin/true with
 *                                a connection open, which main then finishes
 *   attacks double_fork          a daemon's double fork: the grandchild
 *                                connects and leaks; prints its pid
 *   attacks sig_service SIG      a service with its own handler for SIG (or
 *                                "default" handling when SIG is prefixed with
 *                                +): prints "ready", leaks, waits for a signal
 *
 * Connects through the PG* environment variables. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "poolwatch.h"

static PGconn *connect_or_die(void) {
  PGconn *conn = PQconnectdb("");
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "attacks: connect: %s", PQerrorMessage(conn));
    exit(70);
  }
  return conn;
}

static void sleep_us(long us) {
  struct timespec t = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&t, NULL);
}

/* ---- signal_exit ---------------------------------------------------------- */

static void exit_now(int sig) {
  (void)sig;
  exit(3);
}

static long shot_delay_us;
static pthread_t main_thread;

static void *shooter(void *arg) {
  (void)arg;
  sleep_us(shot_delay_us);
  pthread_kill(main_thread, SIGUSR1);
  return NULL;
}

static int signal_exit(unsigned seed) {
  PGconn *leaked = connect_or_die();
  (void)leaked;
  pw_pool *pool = pw_pool_declare("hot", 4, 4);
  static int slots[4];
  signal(SIGUSR1, exit_now);
  srand(seed);
  shot_delay_us = 2000 + rand() % 20000;
  main_thread = pthread_self();
  pthread_t t;
  pthread_create(&t, NULL, shooter, NULL);
  for (unsigned long i = 0;; i++) {
    pw_checkout_begin(pool);
    pw_checkout_end(pool, &slots[i % 4]);
    pw_checkin(pool, &slots[i % 4], 0);
  }
  return 0; /* not reached: the signal ends the loop */
}

/* ---- buffered ------------------------------------------------------------- */

static int buffered(int status) {
  PGconn *leaked = connect_or_die();
  (void)leaked;
  printf("buffered line\n"); /* stdout is a pipe or a file: still buffered at exit */
  return status;
}

/* ---- daemon_fds ----------------------------------------------------------- */

static int daemon_fds(const char *dir) {
  PGconn *leaked = connect_or_die();
  (void)leaked;
  for (int i = 0; i < 3; i++) {
    char path[4096], line[64];
    snprintf(path, sizeof(path), "%s/log%d", dir, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int n = snprintf(line, sizeof(line), "log%d opened as fd %d\n", i, fd);
    if (fd >= 0 && write(fd, line, (size_t)n) != n) return 71;
  }
  return 0;
}

/* ---- lib_destructor, atexit_finish ---------------------------------------- */

extern void attacks_dtor_open(const char *file);
extern void attacks_dtor_watch(const char *exported, const char *verdict_file);

static int monitor_quiet(const char *verdict_file) {
  const char *exported = getenv("POOLWATCH_PROMETHEUS");
  if (!exported) return 2;
  PGconn *leaked = connect_or_die();
  (void)leaked;
  for (int i = 0; i < 500 && access(exported, F_OK) != 0; i++) usleep(10000);
  attacks_dtor_watch(exported, verdict_file);
  return 0;
}

static PGconn *finished_at_exit;
static void finish_at_exit(void) { PQfinish(finished_at_exit); }

/* ---- fork_gmtime ---------------------------------------------------------- */

static _Atomic bool stop_clock;

static void *clock_reader(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_clock)) {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    gmtime_r(&now, &tm);
  }
  return NULL;
}

static int fork_gmtime(int children) {
  PGconn *parent = connect_or_die();
  pthread_t t;
  pthread_create(&t, NULL, clock_reader, NULL);
  int ok = 0, hung = 0, other = 0;
  for (int i = 0; i < children; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm(20); /* a child deadlocked on an inherited lock dies of SIGALRM */
      PGconn *conn = PQconnectdb("");
      PQfinish(conn);
      _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
      other++;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      ok++;
    else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
      hung++;
    else
      other++;
  }
  atomic_store(&stop_clock, true);
  pthread_join(t, NULL);
  PQfinish(parent);
  printf("children %d ok %d hung %d other %d\n", children, ok, hung, other);
  return hung || other ? 1 : 0;
}

/* ---- held_race, churn ----------------------------------------------------- */

static pw_pool *shared_pool;
static double run_seconds;
static _Atomic long checkouts_done, connects_done;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long churn_pairs; /* per thread, or 0: as many as fit in run_seconds */

static void *checkout_loop(void *arg) {
  int slot;
  long n = 0;
  double end = now_s() + run_seconds;
  (void)arg;
  while (churn_pairs ? n < churn_pairs : now_s() < end) {
    for (int i = 0; i < 100; i++, n++) {
      pw_checkout_begin(shared_pool);
      pw_checkout_end(shared_pool, &slot);
      pw_checkin(shared_pool, &slot, 0);
    }
  }
  atomic_fetch_add(&checkouts_done, n);
  return NULL;
}

static void *connect_loop(void *arg) {
  long n = 0;
  double end = now_s() + run_seconds;
  (void)arg;
  while (churn_pairs ? n < churn_pairs / 100 : now_s() < end) {
    PQfinish(connect_or_die());
    n++;
  }
  atomic_fetch_add(&connects_done, n);
  return NULL;
}

static int threads_for(int threads, double seconds, bool with_connects) {
  shared_pool = pw_pool_declare("churn", threads, threads);
  run_seconds = seconds;
  pthread_t t[64];
  if (threads > 64) threads = 64;
  for (int i = 0; i < threads; i++)
    pthread_create(&t[i], NULL, with_connects && i % 2 ? connect_loop : checkout_loop, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  pw_pool_close(shared_pool);
  printf("checkouts %ld connects %ld\n", atomic_load(&checkouts_done),
         atomic_load(&connects_done));
  return 0;
}

/* ---- annotated ------------------------------------------------------------ */

static int slot_a, slot_b, slot_leaked;

__attribute__((noinline)) static void take_a(pw_pool *pool) {
  pw_checkout_begin(pool);
  pw_checkout_end(pool, &slot_a);
  pw_checkin(pool, &slot_a, 0);
}

__attribute__((noinline)) static void take_b(pw_pool *pool) {
  pw_checkout_begin(pool);
  pw_checkout_end(pool, &slot_b);
  pw_checkin(pool, &slot_b, 0);
}

static int annotated(int n) {
  pw_pool *pool = pw_pool_declare("annotated", 2, 3);
  for (int i = 0; i < n; i++) i % 2 ? take_a(pool) : take_b(pool);
  pw_checkout_begin(pool);
  pw_checkout_end(pool, &slot_leaked);
  pw_pool_close(pool);
  printf("annotated done\n");
  return 0;
}

static int hold_annotated(void) {
  pw_pool *pool = pw_pool_declare("held", 1, 1);
  pw_checkout_begin(pool);
  pw_checkout_end(pool, &slot_a);
  printf("held\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof(line), stdin)) return 1;
  pw_checkin(pool, &slot_a, 0);
  pw_pool_close(pool);
  return 0;
}

/* ---- process ends ---------------------------------------------------------- */

static void *exiting_checkouts(void *arg) {
  long me = (long)arg;
  int slot;
  for (long n = 0;; n++) {
    pw_checkout_begin(shared_pool);
    pw_checkout_end(shared_pool, &slot);
    pw_checkin(shared_pool, &slot, 0);
    if (me == 0 && n == 20000) exit(5);
  }
  return NULL;
}

static int thread_exit(void) {
  PGconn *leaked = connect_or_die();
  (void)leaked;
  shared_pool = pw_pool_declare("exiting", 4, 4);
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, exiting_checkouts, (void *)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  return 0;
}

static int end(const char *how) {
  PGconn *leaked = connect_or_die();
  (void)leaked;
  printf("unflushed\n");
  if (strcmp(how, "_exit") == 0) _exit(4);
  abort();
}

static void *holder(void *arg) {
  int *slot = arg;
  pw_checkout_begin(shared_pool);
  pw_checkout_end(shared_pool, slot);
  sleep_us(300000);
  pw_checkin(shared_pool, slot, 0);
  return NULL;
}

static int fork_held(void) {
  static int held_slot, child_slot;
  PGconn *conn = connect_or_die();
  shared_pool = pw_pool_declare("forked", 2, 2);
  pthread_t t;
  pthread_create(&t, NULL, holder, &held_slot);
  sleep_us(100000);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 10; i++) {
      pw_checkout_begin(shared_pool);
      pw_checkout_end(shared_pool, &child_slot);
      pw_checkin(shared_pool, &child_slot, 0);
    }
    pw_pool_close(shared_pool);
    exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  pthread_join(t, NULL);
  pw_pool_close(shared_pool);
  PQfinish(conn);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}

extern char **environ;

static int spawn(void) {
  PGconn *conn = connect_or_die();
  char *argv[] = {"/bin/true", NULL};
  pid_t pid;
  int status = -1, spawned = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
  if (spawned == 0) waitpid(pid, &status, 0);
  printf("posix_spawn %d status %d\n", spawned, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  pid = vfork();
  if (pid == 0) {
    execve("/bin/true", argv, environ);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  printf("vfork status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  PQfinish(conn);
  return 0;
}

static int double_fork(void) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    if (setsid() < 0) _exit(1);
    if (fork() != 0) _exit(0); /* the first child goes at once */
    close(pipefd[0]);
    PGconn *leaked = connect_or_die();
    (void)leaked;
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    if (write(pipefd[1], line, (size_t)n) != n) exit(1);
    exit(0);
  }
  close(pipefd[1]);
  waitpid(pid, NULL, 0);
  char line[32] = {0};
  /* EOF once the grandchild has exited (its report written) */
  ssize_t n = read(pipefd[0], line, sizeof(line) - 1);
  char rest[8];
  while (read(pipefd[0], rest, sizeof(rest)) > 0) {
  }
  printf("grandchild %s", n > 0 ? line : "?\n");
  return 0;
}

/* ---- sig_service ---------------------------------------------------------- */

static volatile sig_atomic_t got_signal;
static void note_signal(int sig) { got_signal = sig; }

static int sig_service(const char *how) {
  bool own_handler = how[0] != '+';
  int sig = atoi(own_handler ? how : how + 1);
  PGconn *leaked = connect_or_die();
  (void)leaked;
  if (own_handler) {
    struct sigaction sa = {0};
    sa.sa_handler = note_signal;
    sigaction(sig, &sa, NULL);
  }
  printf("ready\n");
  fflush(stdout);
  while (!got_signal) pause();
  printf("stopping on signal %d\n", (int)got_signal);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const char *arg = argc > 2 ? argv[2] : "0";
  if (strcmp(mode, "signal_exit") == 0) return signal_exit((unsigned)atoi(arg));
  if (strcmp(mode, "buffered") == 0) return buffered(atoi(arg));
  if (strcmp(mode, "daemon_fds") == 0) return daemon_fds(arg);
  if (strcmp(mode, "lib_destructor") == 0) {
    attacks_dtor_open(arg);
    PGconn *leaked = connect_or_die();
    (void)leaked;
    return 0;
  }
  if (strcmp(mode, "monitor_quiet") == 0) return monitor_quiet(arg);
  if (strcmp(mode, "atexit_finish") == 0) {
    finished_at_exit = connect_or_die();
    atexit(finish_at_exit);
    return 0;
  }
  if (strcmp(mode, "fork_gmtime") == 0) return fork_gmtime(atoi(arg));
  if (strcmp(mode, "held_race") == 0)
    return threads_for(atoi(arg), argc > 3 ? atof(argv[3]) : 1, false);
  if (strcmp(mode, "churn") == 0) {
    churn_pairs = argc > 3 ? atol(argv[3]) : 1000;
    return threads_for(atoi(arg), 0, true);
  }
  if (strcmp(mode, "sig_service") == 0) return sig_service(arg);
  if (strcmp(mode, "annotated") == 0) return annotated(atoi(arg));
  if (strcmp(mode, "hold_annotated") == 0) return hold_annotated();
  if (strcmp(mode, "thread_exit") == 0) return thread_exit();
  if (strcmp(mode, "end") == 0) return end(arg);
  if (strcmp(mode, "fork_held") == 0) return fork_held();
  if (strcmp(mode, "spawn") == 0) return spawn();
  if (strcmp(mode, "double_fork") == 0) return double_fork();
  fprintf(stderr, "attacks: unknown mode '%s'\n", mode);
  return 64;
}
