/* `poolwatch top`: a live view of a process running under the library with
 * POOLWATCH_LIVE=1. The library's monitor thread rewrites
 * /dev/shm/poolwatch-UID/poolwatch-PID.live.json every interval
 * (shim/export/live.c); this command only reads that file, so it never
 * stops or slows the process. */
#include <curses.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "cli.h"
#include "cmd_top.h"
#include "common/dashboard.h"
#include "common/format.h"
#include "common/paths.h"
#include "common/options.h"
#include "report_load.h"

#define EXIT_TOP_FAILED 1
#define BAR_WIDTH 20
#define HISTORY_LENGTH 40
#define ROWS_SHOWN 5

static const char top_help[] =
    "Usage: poolwatch top [--once] [--interval DURATION] PID\n"
    "\n"
    "Shows the pools of process PID as they change: the pool metrics with bars,\n"
    "a history of checked-out connections, the oldest checkouts and the call\n"
    "sites holding the most connection-seconds. PID must run under\n"
    "libpoolwatch.so with POOLWATCH_LIVE=1 (poolwatch run --live); its state\n"
    "appears once it has used libpq or a pool. Press q to quit.\n"
    "\n"
    "Options:\n"
    "  --once                 print one plain-text view and exit (also when\n"
    "                         standard output is not a terminal)\n"
    "  --interval DURATION    how often to refresh (250ms, 2s); default 1s\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0; 1 when PID is not running or publishes no readable,\n"
    "current live state; 125 when the arguments are wrong.\n";

static double now_seconds(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* EPERM: the process exists but belongs to someone else. */
static bool process_exists(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

/* Removes the live files of processes that are gone (killed by a signal,
 * they never removed their own), and their temporary files. */
static void remove_stale(int dirfd) {
  int copy = dup(dirfd);
  DIR *dir = copy >= 0 ? fdopendir(copy) : NULL;
  if (!dir) {
    if (copy >= 0) close(copy);
    return;
  }
  for (struct dirent *e; (e = readdir(dir));) {
    int pid = 0, end = 0;
    const char *name = e->d_name[0] == '.' ? e->d_name + 1 : e->d_name;
    if (sscanf(name, "poolwatch-%d.live.json%n", &pid, &end) != 1 || end == 0 || pid <= 0)
      continue;
    if (strcmp(name + end, "") != 0 && strncmp(name + end, ".", 1) != 0) continue;
    if (!process_exists(pid)) unlinkat(dirfd, e->d_name, 0);
  }
  closedir(dir);
}

/* The owner of process PID, from /proc. */
static bool process_owner(pid_t pid, uid_t *uid) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof(path), "/proc/%d", (int)pid);
  if (stat(path, &st) != 0) return false;
  *uid = st.st_uid;
  return true;
}

/* PID's live state, or NULL with the reason in WHY. The file is read from
 * the private live directory of the process's owner (common/paths.h),
 * opened without following links, and only if that user owns it. */
static json_t *read_live(pid_t pid, char *why, size_t size) {
  char path[192], dir_why[256];
  json_t *state = NULL;
  struct stat st;
  json_error_t error;
  uid_t uid;
  if (!process_exists(pid) || !process_owner(pid, &uid)) {
    snprintf(why, size, "process %d is not running", (int)pid);
    return NULL;
  }
  char dir[128], name[64];
  pw__live_dir_path(uid, dir, sizeof(dir));
  snprintf(name, sizeof(name), PW__LIVE_FILE, (int)pid);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int dirfd = pw__live_dir_open(uid, false, dir_why, sizeof(dir_why));
  int fd = -1;
  if (dirfd >= 0) {
    remove_stale(dirfd);
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  }
  if (dirfd < 0 && access(dir, F_OK) == 0) {
    snprintf(why, size, "%s", dir_why);
  } else if (fd < 0 || fstat(fd, &st) != 0) {
    if (dirfd < 0 || errno == ENOENT)
      snprintf(why, size,
               "process %d is not publishing live state: start it with POOLWATCH_LIVE=1 "
               "(poolwatch run --live) under libpoolwatch.so",
               (int)pid);
    else
      snprintf(why, size, "cannot read %s: %s", path, strerror(errno));
  } else if (!S_ISREG(st.st_mode) || st.st_uid != uid) {
    snprintf(why, size, "%s is not a file of process %d's user; not read", path, (int)pid);
  } else if (!(state = json_loadfd(fd, 0, &error))) {
    snprintf(why, size, "cannot read %s: %s", path, error.text);
  } else if (report_int(state, "pid", -1) != pid ||
             !json_is_array(json_object_get(state, "pools"))) {
    snprintf(why, size, "%s is not poolwatch live state for process %d", path, (int)pid);
  } else {
    /* The monitor thread rewrites the file at least every interval; a file
     * well past that belongs to a stopped or hung process, or to an earlier
     * process that had the same PID and was killed. */
    double interval = json_number_value(json_object_get(state, "interval"));
    double age = now_seconds(CLOCK_REALTIME) - ((double)st.st_mtim.tv_sec +
                                                (double)st.st_mtim.tv_nsec / 1e9);
    if (age <= 3 * interval + 2) {
      close(fd);
      close(dirfd);
      return report_text_safe(state);
    }
    snprintf(why, size,
             "the live state of process %d is stale: last written %.0fs ago, though it "
             "is rewritten every %gs (is the process stopped?)",
             (int)pid, age, interval);
  }
  json_decref(state);
  if (fd >= 0) close(fd);
  if (dirfd >= 0) close(dirfd);
  /* The process may have exited since the first look, removing the file. */
  if (!process_exists(pid)) snprintf(why, size, "process %d is not running", (int)pid);
  return NULL;
}


/* What a pool's connection counts are drawn against: its maximum, else its
 * configured size, else the most it has had open. */
static long long pool_capacity(const json_t *pool, const char **label) {
  long long cap = report_int(pool, "max_size", -1);
  *label = "max";
  if (cap <= 0) {
    cap = report_int(pool, "configured_size", -1);
    *label = "configured";
  }
  if (cap <= 0) {
    cap = report_int(json_object_get(pool, "peaks"), "max_size", 0);
    *label = "peak";
  }
  return cap > 0 ? cap : 1;
}

static void bar(pw__buf *out, long long value, long long cap) {
  int filled = value <= 0 ? 0 : value >= cap ? BAR_WIDTH : (int)((double)value * BAR_WIDTH / (double)cap);
  if (value > 0 && filled == 0) filled = 1; /* one connection is never invisible */
  pw__buf_puts(out, "[");
  for (int i = 0; i < BAR_WIDTH; i++) pw__buf_puts(out, i < filled ? "#" : ".");
  pw__buf_puts(out, "]");
}

/* ASCII, so a plain frame reads the same in any terminal, log or pipe. */
static void sparkline(pw__buf *out, const json_t *values, long long cap) {
  static const char ramp[] = "_.:-=+*#";
  const int top = (int)sizeof(ramp) - 2;
  size_t i;
  json_t *v;
  json_array_foreach(values, i, v) {
    long long n = json_integer_value(v);
    /* Rounded up, so any checkout at all rises above the baseline. */
    int level = n <= 0 ? 0 : n >= cap ? top : (int)ceil((double)n * top / (double)cap);
    pw__buf_append(out, &ramp[level], 1);
  }
}

static void metric_line(pw__buf *out, const json_t *pool, const char *metric, const json_t *value,
                        const json_t *history) {
  char a[32], b[32], c[32];
  pw__buf_printf(out, "    %-16s ", metric);
  if (strcmp(metric, "pool.wait_time") == 0) {
    /* The metric is the mean; the distribution says how bad the tail is. */
    const json_t *wait = json_object_get(pool, "wait_time");
    /* The implicit libpq pool has no checkouts: its waits are blocking
     * connects, and the counter above says so too. */
    const char *kind = report_string(pool, "kind");
    bool libpq = kind && strcmp(kind, "libpq") == 0;
    long long waits = report_int(wait, "count", 0);
    pw__buf_printf(out, "%8s mean  p95 %s  max %s  over %lld %s\n",
                   pw__format_age(json_number_value(value), a, sizeof(a)),
                   pw__format_age(json_number_value(json_object_get(wait, "p95")), b, sizeof(b)),
                   pw__format_age(json_number_value(json_object_get(wait, "max")), c, sizeof(c)),
                   waits, libpq ? (waits == 1 ? "connect" : "connects")
                                : (waits == 1 ? "checkout" : "checkouts"));
    return;
  }
  const char *label;
  long long cap = pool_capacity(pool, &label);
  /* Through report_int: a huge or fractional value must not overflow. */
  long long n = report_value_int(value, 0);
  pw__buf_printf(out, "%8lld  ", n);
  bar(out, n, cap);
  pw__buf_printf(out, " of %lld %s", cap, label);
  if (strcmp(metric, "pool.checkedout") == 0) {
    pw__buf_puts(out, "  history ");
    sparkline(out, history, cap);
  }
  pw__buf_puts(out, "\n");
}

/* The pool metrics that mean something while the process runs. The leak
 * counts do not: a checkout held now is only a leak if it is still held at
 * exit. */
static bool live_metric(const char *name) {
  static const char *const names[] = {"pool.size", "pool.checkedout", "pool.checkedin",
                                      "pool.overflow", "pool.wait_time"};
  for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(name, names[i]) == 0) return true;
  return false;
}

/* One pool, in the panel and metric order of the dashboards. */
static void pool_section(pw__buf *out, const json_t *pool, const json_t *history) {
  const json_t *metrics = json_object_get(pool, "metrics");
  const json_t *counters = json_object_get(pool, "counters");
  const char *name = report_string(pool, "name"), *kind = report_string(pool, "kind");
  long long checkouts = report_int(counters, "checkouts", 0);
  long long connects = report_int(counters, "connects", 0);
  if (kind && strcmp(kind, "libpq") == 0)
    /* Every connection of the libpq pool is checked out by definition;
     * "0 checkouts" beside its waits read as a contradiction. */
    pw__buf_printf(out, "\n%s (%s): %lld %s (%lld failed), %lld %s\n", name ? name : "?", kind,
                   connects, connects == 1 ? "connect" : "connects",
                   report_int(counters, "failed_connects", 0), report_int(counters, "closes", 0),
                   report_int(counters, "closes", 0) == 1 ? "close" : "closes");
  else
    pw__buf_printf(out, "\n%s (%s): %lld %s, %lld checkins, %lld %s, %lld failed\n",
                   name ? name : "?", kind ? kind : "?", checkouts,
                   checkouts == 1 ? "checkout" : "checkouts", report_int(counters, "checkins", 0),
                   connects, connects == 1 ? "connect" : "connects",
                   report_add(report_int(counters, "failed_checkouts", 0),
                              report_int(counters, "failed_connects", 0)));
  for (size_t i = 0; i < pw__dashboard_panel_count; i++) {
    const pw__dashboard_panel *panel = &pw__dashboard_panels[i];
    bool titled = false;
    for (size_t j = 0; j < 3 && panel->metrics[j]; j++) {
      const char *metric_name = panel->metrics[j];
      const json_t *value = live_metric(metric_name) ? json_object_get(metrics, metric_name) : NULL;
      if (!json_is_number(value)) continue;
      if (!titled) pw__buf_printf(out, "  %s\n", panel->title);
      titled = true;
      metric_line(out, pool, metric_name, value, history);
    }
  }
}

/* The live state names each frame by its function only. */
static void frames_text(pw__buf *out, const json_t *frames, size_t shown) {
  pw__frame named[8] = {{0}};
  size_t i, n = 0;
  json_t *frame;
  json_array_foreach(frames, i, frame) {
    if (n == sizeof(named) / sizeof(named[0])) break;
    named[n++].function = json_string_value(frame);
  }
  pw__format_call_chain(out, named, n, shown);
}

/* One of the two tables under the pools: the oldest live checkouts, and
 * the call sites holding the most connection-seconds. */
typedef struct row_table {
  const char *title, *when_empty;
  const char *seconds_header, *count_header;
  const char *seconds_key, *count_key;
  size_t frames_shown;
} row_table;

static const row_table oldest_table = {
  "Oldest checkouts", "none held", "AGE", "THREAD", "age_s", "thread", 1,
};
static const row_table call_site_table = {
  "Call sites by connection-seconds held", "none yet", "HELD", "HOLDS", "hold_seconds", "holds",
  SIZE_MAX,
};

static void rows_section(pw__buf *out, const row_table *table, const json_t *rows) {
  pw__buf_printf(out, "\n%s\n", table->title);
  if (json_array_size(rows) == 0) {
    pw__buf_printf(out, "  %s\n", table->when_empty);
    return;
  }
  pw__buf_printf(out, "  %8s  %-12s %8s  %s\n", table->seconds_header, "POOL", table->count_header,
                 table->frames_shown == 1 ? "TOP FRAME" : "FRAMES");
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    if (i == ROWS_SHOWN) break;
    char seconds_text[32];
    const char *pool = report_string(row, "pool");
    double seconds = json_number_value(json_object_get(row, table->seconds_key));
    pw__buf_printf(out, "  %8s  %-12s %8lld  ",
                   pw__format_age(seconds, seconds_text, sizeof(seconds_text)), pool ? pool : "-",
                   report_int(row, table->count_key, 0));
    frames_text(out, json_object_get(row, "frames"), table->frames_shown);
    pw__buf_puts(out, "\n");
  }
}

/* Appends each pool's pool.checkedout to HISTORY ({name: [values]}),
 * keeping the last HISTORY_LENGTH. */
static void record_history(json_t *history, const json_t *state) {
  size_t i;
  json_t *pool;
  json_array_foreach(json_object_get(state, "pools"), i, pool) {
    const char *name = report_string(pool, "name");
    if (!name) continue;
    json_t *values = json_object_get(history, name);
    if (!values) json_object_set_new(history, name, values = json_array());
    json_array_append_new(values, json_integer(report_int(json_object_get(pool, "metrics"),
                                                          "pool.checkedout", 0)));
    if (json_array_size(values) > HISTORY_LENGTH) json_array_remove(values, 0);
  }
}

static void render(pw__buf *out, const json_t *state, const json_t *history) {
  char every[32];
  const char *updated = report_string(state, "updated_at");
  pw__buf_printf(out, "poolwatch top: process %lld, updated %s, every %s",
                 report_int(state, "pid", 0), updated ? updated : "?",
                 pw__format_age(json_number_value(json_object_get(state, "interval")), every,
                               sizeof(every)));
  double threshold = json_number_value(json_object_get(state, "threshold"));
  char limit[32];
  if (threshold > 0)
    pw__buf_printf(out, ", held-too-long threshold %s",
                   pw__format_age(threshold, limit, sizeof(limit)));
  pw__buf_puts(out, "\n");
  size_t i;
  json_t *pool;
  json_array_foreach(json_object_get(state, "pools"), i, pool) {
    const char *name = report_string(pool, "name");
    pool_section(out, pool, name ? json_object_get(history, name) : NULL);
  }
  rows_section(out, &oldest_table, json_object_get(state, "oldest"));
  rows_section(out, &call_site_table, json_object_get(state, "call_sites"));
}

static void draw(const pw__buf *frame, const char *problem) {
  erase();
  int y = 0;
  const char *line = frame->data ? frame->data : "";
  while (*line && y < LINES - 1) {
    const char *end = strchr(line, '\n');
    int len = end ? (int)(end - line) : (int)strlen(line);
    if (y == 0) attron(A_BOLD);
    mvaddnstr(y++, 0, line, len < COLS ? len : COLS);
    if (y == 1) attroff(A_BOLD);
    line = end ? end + 1 : line + len;
  }
  if (problem) attron(A_REVERSE);
  mvaddnstr(LINES - 1, 0, problem ? problem : "q: quit", COLS);
  if (problem) attroff(A_REVERSE);
  refresh();
}

/* Refreshes every INTERVAL until q. A problem after the first view is shown
 * over the last good one, since a busy process can miss a write; only the
 * process's end ends the view. */
static int interactive(pid_t pid, json_t *state, json_t *history,
                       double interval) {
  SCREEN *screen = newterm(NULL, stdout, stdin);
  if (!screen) {
    cli_error("cannot drive this terminal (TERM=%s); try poolwatch top --once",
              getenv("TERM") ? getenv("TERM") : "");
    return EXIT_TOP_FAILED;
  }
  cbreak();
  noecho();
  curs_set(0);
  keypad(stdscr, TRUE);
  pw__buf frame;
  pw__buf_init(&frame);
  render(&frame, state, history);
  char why[512];
  bool failed = false, gone = false;
  double next = now_seconds(CLOCK_MONOTONIC) + interval;
  for (;;) {
    draw(&frame, failed ? why : NULL);
    double wait = next - now_seconds(CLOCK_MONOTONIC);
    timeout(wait > 0 ? (int)(wait * 1000) : 0);
    int key = getch();
    if (key == 'q' || key == 'Q') break;
    if (now_seconds(CLOCK_MONOTONIC) < next) continue; /* a resize or another key */
    next = now_seconds(CLOCK_MONOTONIC) + interval;
    json_t *fresh = read_live(pid, why, sizeof(why));
    failed = !fresh;
    if (!fresh && !process_exists(pid)) {
      gone = true;
      break;
    }
    if (!fresh) continue;
    json_decref(state);
    state = fresh;
    record_history(history, state);
    frame.len = 0;
    if (frame.data) frame.data[0] = '\0';
    render(&frame, state, history);
  }
  endwin();
  delscreen(screen);
  pw__buf_free(&frame);
  json_decref(state);
  if (gone) cli_error("%s", why);
  return gone ? EXIT_TOP_FAILED : 0;
}

int cmd_top(int argc, char **argv) {
  bool once = false;
  double interval = 1.0;
  long pid = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value;
    int taken;
    if (cli_is_help(arg)) {
      fputs(top_help, stdout);
      return 0;
    } else if (strcmp(arg, "--once") == 0) {
      once = true;
    } else if ((taken = cli_option_value(argc, argv, &i, "top", "--interval", &value))) {
      if (taken < 0) return EXIT_TROUBLE;
      if (!pw__parse_duration(value, &interval))
        return cli_usage_error("top", "--interval takes a duration such as 250ms or 2s, not '%s'",
                               value);
    } else if (arg[0] == '-' && arg[1]) {
      return cli_usage_error("top", "unknown option '%s'", arg);
    } else if (pid) {
      return cli_usage_error("top", "unexpected argument '%s'", arg);
    } else if (!pw__parse_long(arg, 1, INT_MAX, &pid)) {
      return cli_usage_error("top", "PID must be a process id, not '%s'", arg);
    }
  }
  if (!pid) return cli_usage_error("top", "name the process: poolwatch top PID");

  char why[512];
  json_t *state = read_live((pid_t)pid, why, sizeof(why));
  if (!state) {
    cli_error("%s", why);
    return EXIT_TOP_FAILED;
  }
  json_t *history = json_object();
  if (!history) {
    cli_error("out of memory");
    json_decref(state);
    return EXIT_TOP_FAILED;
  }
  record_history(history, state);
  int status = 0;
  if (once || !isatty(STDOUT_FILENO)) {
    pw__buf frame;
    pw__buf_init(&frame);
    render(&frame, state, history);
    if (frame.failed || fputs(frame.data, stdout) == EOF || fflush(stdout) != 0) {
      cli_error("cannot write the view: standard output failed");
      status = EXIT_TOP_FAILED;
    }
    pw__buf_free(&frame);
    json_decref(state);
  } else {
    status = interactive((pid_t)pid, state, history, interval);
  }
  json_decref(history);
  return status;
}
