/* Workloads for the overhead benchmark (run.sh). Each runs the same way
 * with and without libpoolwatch.so preloaded and prints one line of
 * key=value results; bench.py compares the two.
 *
 *   pwbench zdb THREADS SECONDS [FRAMES]   libzdb checkout+checkin pairs
 *   pwbench api THREADS SECONDS [FRAMES]   the same on an annotated pool
 *   pwbench sites N SECONDS [FRAMES]       the annotated pool, 1 thread, its
 *                                          pairs taken in turn from N call
 *                                          sites (1 to 4) at one stack depth
 *   pwbench connect COUNT                  PQconnectdb + PQfinish
 *   pwbench live SECONDS                   a steady service, for the live view
 *   pwbench mem-checkouts N                RSS of N live checkouts
 *   pwbench mem-stacks LEVELS              RSS of 2^LEVELS distinct stacks
 *   pwbench clock                          ns per clock_gettime(CLOCK_MONOTONIC)
 *                                          and per RDTSC (x86), in a loop
 *
 * FRAMES runs the loop that many calls deeper, as in a real program whose
 * pool calls sit under a framework: stack capture costs per frame.
 * The PostgreSQL workloads connect through PGHOST (a socket directory),
 * PGUSER and PGDATABASE. */
#include <libpq-fe.h>
#include <poolwatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zdb.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* Untimed pairs per thread first: stacks get interned, caches warm. */
#define WARMUP_PAIRS 2000

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "pwbench: %s\n", what);
  exit(1);
}

/* Written after calls so they are not tail calls (each frame stays on the
 * stack) and so identical-looking functions are not folded into one. */
static volatile unsigned sink;

/* ---- the pools under test ------------------------------------------- */

static ConnectionPool_T zdb_pool;

/* A minimal home-grown pool: a locked stack of connection objects, with
 * the poolwatch.h annotations a real one would carry. The objects are
 * never used as connections, so no server is needed. */
#define API_POOL_MAX 64
static struct {
  pthread_mutex_t lock;
  int idle_count;
  void *idle[API_POOL_MAX];
  pw_pool *pw;
} api_pool = {.lock = PTHREAD_MUTEX_INITIALIZER};
static char api_conns[API_POOL_MAX][64];

static void api_pool_init(int size) {
  api_pool.pw = pw_pool_declare("bench", size, size);
  for (int i = 0; i < size; i++) {
    api_pool.idle[api_pool.idle_count++] = api_conns[i];
    pw_conn_opened(api_pool.pw, api_conns[i], 1);
  }
}

static void *api_get(void) {
  pw_checkout_begin(api_pool.pw);
  pthread_mutex_lock(&api_pool.lock);
  void *c = api_pool.idle_count ? api_pool.idle[--api_pool.idle_count] : NULL;
  pthread_mutex_unlock(&api_pool.lock);
  pw_checkout_end(api_pool.pw, c);
  return c;
}

static void api_put(void *c) {
  pw_checkin(api_pool.pw, c, 0);
  pthread_mutex_lock(&api_pool.lock);
  api_pool.idle[api_pool.idle_count++] = c;
  pthread_mutex_unlock(&api_pool.lock);
}

/* ---- timed pair loops ------------------------------------------------- */

static atomic_bool stop;

/* The loops profiled by callgrind (run.sh --profile collects only inside
 * these): COUNT pairs, or until STOP when COUNT is 0. */
__attribute__((noinline)) uint64_t zdb_pairs(uint64_t count) {
  uint64_t n = 0;
  while (count ? n < count : !atomic_load_explicit(&stop, memory_order_relaxed)) {
    Connection_T c = ConnectionPool_getConnection(zdb_pool);
    if (!c) die("libzdb pool exhausted: pool size must equal the thread count");
    Connection_close(c);
    n++;
  }
  return n;
}

__attribute__((noinline)) uint64_t api_pairs(uint64_t count) {
  uint64_t n = 0;
  while (count ? n < count : !atomic_load_explicit(&stop, memory_order_relaxed)) {
    void *c = api_get();
    if (!c) die("annotated pool exhausted");
    api_put(c);
    n++;
  }
  return n;
}

/* Four call sites of the same helper at the same depth: the hook is
 * entered from one place with one frame address, and only the chain of
 * return addresses above tells them apart. */
static int site_count = 1;

__attribute__((noinline)) static void take_and_return(void) {
  void *c = api_get();
  if (!c) die("annotated pool exhausted");
  api_put(c);
  sink++;
}

__attribute__((noinline)) static void site0(void) { take_and_return(); sink++; }
__attribute__((noinline)) static void site1(void) { take_and_return(); sink += 2; }
__attribute__((noinline)) static void site2(void) { take_and_return(); sink += 3; }
__attribute__((noinline)) static void site3(void) { take_and_return(); sink += 4; }

__attribute__((noinline)) uint64_t sites_pairs(uint64_t count) {
  static void (*const sites[4])(void) = {site0, site1, site2, site3};
  uint64_t n = 0;
  while (count ? n < count : !atomic_load_explicit(&stop, memory_order_relaxed)) {
    sites[n % (uint64_t)site_count]();
    n++;
  }
  return n;
}

typedef struct worker {
  pthread_t thread;
  uint64_t (*pairs)(uint64_t);
  int frames;
  pthread_barrier_t *start;
  uint64_t timed, total;
} worker;

/* Runs the worker's loops FRAMES calls down the stack. */
__attribute__((noipa)) static void run_at_depth(worker *w, int frames) {
  if (frames > 0) {
    run_at_depth(w, frames - 1);
    sink++;
    return;
  }
  w->total = w->pairs(WARMUP_PAIRS);
  pthread_barrier_wait(w->start);
  w->timed = w->pairs(0);
  w->total += w->timed;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  run_at_depth(w, w->frames);
  return NULL;
}

/* Runs THREADS workers for SECONDS and prints the time per pair as each
 * thread sees it: wall time x threads / pairs. */
static void run_pairs(uint64_t (*pairs)(uint64_t), int threads, double seconds, int frames) {
  worker w[API_POOL_MAX];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  for (int i = 0; i < threads; i++) {
    w[i] = (worker){.pairs = pairs, .frames = frames, .start = &start};
    if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) die("pthread_create");
  }
  pthread_barrier_wait(&start);
  uint64_t t0 = now_ns();
  struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  nanosleep(&nap, NULL);
  atomic_store(&stop, true);
  uint64_t timed = 0, total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].thread, NULL);
    timed += w[i].timed;
    total += w[i].total;
  }
  uint64_t elapsed = now_ns() - t0;
  printf("ns_per_op=%.2f pairs=%llu total_pairs=%llu\n",
         (double)elapsed * threads / (double)timed, (unsigned long long)timed,
         (unsigned long long)total);
}

static void zdb_start(int size) {
  const char *host = getenv("PGHOST"), *user = getenv("PGUSER"), *db = getenv("PGDATABASE");
  if (!host || host[0] != '/') die("PGHOST must be the server's socket directory");
  /* libzdb refuses a URL without a password; the throwaway server trusts
   * local connections and never asks for it. */
  char url[1024];
  snprintf(url, sizeof(url), "postgresql://localhost/%s?user=%s&password=unused&unix-socket=%s",
           db ? db : "postgres", user ? user : "postgres", host);
  zdb_pool = ConnectionPool_new(URL_new(url));
  ConnectionPool_setInitialConnections(zdb_pool, size);
  ConnectionPool_setMaxConnections(zdb_pool, size);
  ConnectionPool_start(zdb_pool);
}

/* ---- connect ------------------------------------------------------------ */

/* The loop callgrind counts (--toggle-collect=connect_loop): the client's
 * instructions per connect, with and without the shim. */
/* A conninfo as programs write them: the shim redacts and keeps it. */
static char conninfo[512];

static void connect_once(void) {
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK) die(PQerrorMessage(c));
  PQfinish(c);
}

__attribute__((noinline)) void connect_loop(int count) {
  for (int i = 0; i < count; i++) connect_once();
}

static void run_connect(int count) {
  const char *host = getenv("PGHOST"), *user = getenv("PGUSER"), *db = getenv("PGDATABASE");
  snprintf(conninfo, sizeof(conninfo), "host=%s dbname=%s user=%s application_name=pwbench",
           host ? host : "/tmp", db ? db : "postgres", user ? user : "postgres");
  /* One connect first, untimed and uncounted: libpq and poolwatch set
   * themselves up once per process (libunwind is loaded on the first
   * stack capture). */
  connect_once();
  uint64_t t0 = now_ns();
  connect_loop(count);
  printf("ns_per_op=%.0f\n", (double)(now_ns() - t0) / count);
}

/* ---- memory ------------------------------------------------------------- */

static long rss_bytes(void);
static void checkout_here(void);

/* CPU time of the whole process (all threads: the monitor thread too). */
static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- a steady service --------------------------------------------------- */

/* What the live view watches: an annotated pool with 8 checkouts left out
 * from 8 call sites (the view's oldest rows) and a steady trickle of
 * checkouts from 64 more (its call sites), for SECONDS. Prints the RSS
 * and the CPU time used from 3.5 s in (after the view's first ticks,
 * which open its libdw session) to the end: with the view on, the RSS
 * should stay flat. bench.py compares the CPU time with POOLWATCH_LIVE=1
 * and without. */
__attribute__((noipa)) static void trickle(int site) {
  if (site > 0) {
    trickle(site - 1);
    sink++;
    return;
  }
  checkout_here();
}

__attribute__((noipa)) static void leave_out(int site) {
  static char conns[8];
  if (site > 0) {
    leave_out(site - 1);
    sink++;
    return;
  }
  static int next;
  pw_checkout_begin(api_pool.pw);
  pw_checkout_end(api_pool.pw, &conns[next++ % 8]);
}

static void run_live(double seconds) {
  api_pool.pw = pw_pool_declare("service", 16, 16);
  for (int i = 0; i < 8; i++) leave_out(i);
  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
  long rss_first = -1;
  uint64_t steady_at = 0, cpu_first = 0;
  while (now_ns() < end) {
    for (int i = 0; i < 64; i++) trickle(i);
    if (rss_first < 0 && now_ns() - start > 3500000000u) {
      rss_first = rss_bytes();
      steady_at = now_ns();
      cpu_first = cpu_ns();
    }
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  if (!steady_at) die("live: SECONDS must be more than 3.5");
  printf("rss_first=%ld rss_last=%ld steady_s=%.3f steady_cpu_s=%.4f\n", rss_first, rss_bytes(),
         (double)(now_ns() - steady_at) / 1e9, (double)(cpu_ns() - cpu_first) / 1e9);
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb * 1024;
}

/* N checkouts from one call site, all left out. The connection objects
 * are allocated (and touched) before the first reading, so the growth is
 * poolwatch's records alone. */
static void run_mem_checkouts(long n) {
  char *conns = calloc((size_t)n, 16);
  if (!conns) die("out of memory");
  memset(conns, 1, (size_t)n * 16);
  pw_pool *pool = pw_pool_declare("bench", (int)n, (int)n);
  /* The first checkout sets up per-pool and per-thread state. */
  pw_checkout_begin(pool);
  pw_checkout_end(pool, conns);
  long before = rss_bytes();
  for (long i = 1; i < n; i++) {
    pw_checkout_begin(pool);
    pw_checkout_end(pool, conns + i * 16);
  }
  long after = rss_bytes();
  printf("bytes=%ld count=%ld\n", after - before, n - 1);
}

/* One checkout and checkin at the bottom of a distinct stack. */
__attribute__((noipa)) static void checkout_here(void) {
  static char conn;
  pw_checkout_begin(api_pool.pw);
  pw_checkout_end(api_pool.pw, &conn);
  pw_checkin(api_pool.pw, &conn, 0);
}

/* Two functions that call down one of them by the next bit of PATH:
 * every PATH is a distinct sequence of return addresses. */
static void branch_left(int level, unsigned path);
__attribute__((noipa)) static void branch_right(int level, unsigned path) {
  if (level == 0) checkout_here();
  else (path & 1 ? branch_right : branch_left)(level - 1, path >> 1);
  sink += 2;
}
__attribute__((noipa)) static void branch_left(int level, unsigned path) {
  if (level == 0) checkout_here();
  else (path & 1 ? branch_right : branch_left)(level - 1, path >> 1);
  sink += 1;
}

/* Every stack gets deep enough (> 32 frames) that the default capture
 * keeps its full 32: what a real program's stacks cost. */
__attribute__((noipa)) static void all_paths(int levels, int padding) {
  if (padding > 0) {
    all_paths(levels, padding - 1);
    sink++;
    return;
  }
  for (unsigned path = 0; path < 1u << levels; path++) branch_left(levels, path);
}

static void run_mem_stacks(int levels) {
  api_pool.pw = pw_pool_declare("bench", 1, 1);
  checkout_here(); /* per-pool and per-thread state */
  long before = rss_bytes();
  all_paths(levels, 24);
  long after = rss_bytes();
  printf("bytes=%ld count=%ld\n", after - before, 1L << levels);
}

/* ---- clock reads ---------------------------------------------------------- */

/* What one reading of each clock poolwatch may use costs here: ten million
 * in a loop, nothing else in it. */
static void run_clock(void) {
  const int reads = 10000000;
  volatile uint64_t sink64 = 0;
  uint64_t t0 = now_ns();
  for (int i = 0; i < reads; i++) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sink64 += (uint64_t)ts.tv_nsec;
  }
  uint64_t t1 = now_ns();
  printf("clock_gettime_ns=%.1f", (double)(t1 - t0) / reads);
#if defined(__x86_64__)
  t0 = now_ns();
  for (int i = 0; i < reads; i++) sink64 += __rdtsc();
  t1 = now_ns();
  printf(" rdtsc_ns=%.1f", (double)(t1 - t0) / reads);
#endif
  printf("\n");
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if ((strcmp(what, "zdb") == 0 || strcmp(what, "api") == 0) && argc >= 4) {
    int threads = atoi(argv[2]);
    if (threads < 1 || threads > API_POOL_MAX) die("THREADS: 1..64");
    int frames = argc > 4 ? atoi(argv[4]) : 0;
    if (what[0] == 'z') {
      zdb_start(threads);
      run_pairs(zdb_pairs, threads, atof(argv[3]), frames);
      ConnectionPool_stop(zdb_pool);
      ConnectionPool_free(&zdb_pool);
    } else {
      api_pool_init(threads);
      run_pairs(api_pairs, threads, atof(argv[3]), frames);
      pw_pool_close(api_pool.pw);
    }
  } else if (strcmp(what, "sites") == 0 && argc >= 4) {
    site_count = atoi(argv[2]);
    if (site_count < 1 || site_count > 4) die("N: 1..4 call sites");
    api_pool_init(1);
    run_pairs(sites_pairs, 1, atof(argv[3]), argc > 4 ? atoi(argv[4]) : 0);
    pw_pool_close(api_pool.pw);
  } else if (strcmp(what, "connect") == 0 && argc == 3) {
    run_connect(atoi(argv[2]));
  } else if (strcmp(what, "live") == 0 && argc == 3) {
    run_live(atof(argv[2]));
  } else if (strcmp(what, "mem-checkouts") == 0 && argc == 3) {
    run_mem_checkouts(atol(argv[2]));
  } else if (strcmp(what, "mem-stacks") == 0 && argc == 3) {
    run_mem_stacks(atoi(argv[2]));
  } else if (strcmp(what, "clock") == 0) {
    run_clock();
  } else {
    fprintf(stderr, "usage: pwbench zdb|api THREADS SECONDS [FRAMES] | sites N SECONDS [FRAMES] |"
                    " connect COUNT | live SECONDS |"
                    " mem-checkouts N | mem-stacks LEVELS | clock\n");
    return 2;
  }
  return 0;
}
