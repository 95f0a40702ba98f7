/* Loading and merging poolwatch-PID.json reports. */
#include "report_load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "cli.h"

/* Separators for group keys: control characters that no function, file or
 * module name contains, so distinct stacks never share a key. */
#define FIELD_SEP "\x1f"
#define FRAME_SEP "\x1e"

long long report_int(const json_t *object, const char *key, long long fallback) {
  return report_value_int(json_object_get(object, key), fallback);
}

long long report_value_int(const json_t *v, long long fallback) {
  if (json_is_integer(v)) return json_integer_value(v);
  if (json_is_real(v)) {
    /* A hand-edited "count": 1e300 must not become undefined behaviour:
     * out-of-range reals saturate, NaN counts as absent. */
    double d = json_real_value(v);
    if (d != d) return fallback;
    if (d >= 9.2e18) return LLONG_MAX;
    if (d <= -9.2e18) return LLONG_MIN;
    return (long long)d;
  }
  return fallback;
}

long long report_add(long long a, long long b) {
  long long sum;
  if (__builtin_add_overflow(a, b, &sum)) return a > 0 ? LLONG_MAX : LLONG_MIN;
  return sum;
}

const char *report_string(const json_t *object, const char *key) {
  return json_string_value(json_object_get(object, key));
}

pw__frame report_frame(const json_t *frame) {
  const char *offset = report_string(frame, "offset");
  const char *language = report_string(frame, "language");
  bool native = !language || strcmp(language, "c") == 0 || strcmp(language, "c++") == 0;
  return (pw__frame){
      .function = report_string(frame, "function"), .file = report_string(frame, "file"),
      .line = (int)report_int(frame, "line", 0), .module = report_string(frame, "module"),
      .offset = offset ? (uintptr_t)strtoull(offset, NULL, 16) : 0,
      .language = language, .interpreted = !native,
  };
}

bool report_set_init(report_set *set) {
  set->processes = json_array();
  set->pools = json_array();
  set->leaks = json_array();
  set->findings = json_array();
  set->suppressed = json_array();
  set->leak_index = json_object();
  set->finding_index = json_object();
  set->suppressed_index = json_object();
  set->process_index = json_object();
  set->leak_pids = json_array();
  set->suppressed_pids = json_array();
  set->finding_pids = json_array();
  if (set->processes && set->pools && set->leaks && set->findings && set->suppressed &&
      set->leak_index && set->finding_index && set->suppressed_index && set->process_index &&
      set->leak_pids && set->suppressed_pids && set->finding_pids)
    return true;
  report_set_free(set);
  cli_error("out of memory");
  return false;
}

void report_set_free(report_set *set) {
  json_decref(set->processes);
  json_decref(set->pools);
  json_decref(set->leaks);
  json_decref(set->findings);
  json_decref(set->suppressed);
  json_decref(set->leak_index);
  json_decref(set->finding_index);
  json_decref(set->suppressed_index);
  json_decref(set->process_index);
  json_decref(set->leak_pids);
  json_decref(set->suppressed_pids);
  json_decref(set->finding_pids);
  memset(set, 0, sizeof(*set));
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void key_text(pw__buf *key, const char *text) { pw__buf_puts(key, text ? text : ""); }

/* Identity of a group within one merge: kind, pool and the full frames. A
 * frame with neither function nor file says only where in its module it
 * is, so its offset is kept to tell such stacks apart. */
/* Both keys start with the group's kind and pool. */
static void key_start(pw__buf *key, const json_t *group) {
  pw__buf_init(key);
  key_text(key, report_string(group, "kind"));
  pw__buf_puts(key, FIELD_SEP);
  key_text(key, report_string(group, "pool"));
  pw__buf_puts(key, FIELD_SEP);
}

static char *group_key(const json_t *group) {
  pw__buf key;
  key_start(&key, group);
  size_t i;
  json_t *frame;
  json_array_foreach(json_object_get(group, "stack"), i, frame) {
    const char *function = report_string(frame, "function");
    const char *file = report_string(frame, "file");
    key_text(&key, function);
    pw__buf_puts(&key, FRAME_SEP);
    key_text(&key, file);
    pw__buf_printf(&key, FRAME_SEP "%lld" FRAME_SEP, report_int(frame, "line", 0));
    key_text(&key, report_string(frame, "module"));
    if (!function && !file) {
      pw__buf_puts(&key, FRAME_SEP);
      key_text(&key, report_string(frame, "offset"));
    }
    pw__buf_puts(&key, FIELD_SEP);
  }
  if (key.failed) {
    pw__buf_free(&key);
    return NULL;
  }
  return key.data ? key.data : strdup("");
}

char *report_group_signature(const json_t *group) {
  pw__buf sig;
  key_start(&sig, group);
  size_t i;
  json_t *frame;
  json_array_foreach(json_object_get(group, "stack"), i, frame) {
    const char *file = report_string(frame, "file");
    const char *module = report_string(frame, "module");
    key_text(&sig, report_string(frame, "function"));
    pw__buf_puts(&sig, FRAME_SEP);
    key_text(&sig, file ? base_name(file) : NULL);
    pw__buf_puts(&sig, FRAME_SEP);
    key_text(&sig, module ? base_name(module) : NULL);
    pw__buf_puts(&sig, FIELD_SEP);
  }
  if (sig.failed) {
    pw__buf_free(&sig);
    return NULL;
  }
  return sig.data ? sig.data : strdup("");
}

/* A pid's key in a group's set of pids. */
static void pid_key(const json_t *pid, char *key, size_t cap) {
  if (json_is_integer(pid))
    snprintf(key, cap, "%lld", (long long)json_integer_value(pid));
  else
    snprintf(key, cap, "?%p", (const void *)pid);
}

/* Appends to array A the pids of B that A lacks, SEEN being A's pids as
 * object keys. Two merged reports of 20,000 processes each once took more
 * than five minutes comparing every pid with every other. */
static void union_into(json_t *a, json_t *seen, const json_t *b) {
  size_t i;
  json_t *x;
  char key[64];
  json_array_foreach(b, i, x) {
    pid_key(x, key, sizeof(key));
    if (json_object_get(seen, key)) continue;
    json_object_set_new(seen, key, json_true());
    json_array_append(a, x);
  }
}

static void extend_array(json_t *group, const char *key, json_t *more) {
  if (!json_is_array(more)) return;
  json_t *have = json_object_get(group, key);
  if (json_is_array(have))
    json_array_extend(have, more);
  else
    json_object_set(group, key, more);
}

/* Adds ENTRY (a leak or finding, already carrying "pids") to GROUPS,
 * summing it into the group with the same key if there is one. */
static bool add_group(json_t *groups, json_t *index, json_t *pid_sets, json_t *entry,
                      bool is_leak) {
  char *key = group_key(entry);
  if (!key) return false;
  json_t *at = json_object_get(index, key);
  if (!at) {
    json_t *group = json_deep_copy(entry);
    json_t *seen = json_object();
    bool ok = group && seen &&
              json_object_set_new(index, key, json_integer((json_int_t)json_array_size(groups))) == 0 &&
              json_array_append_new(groups, group) == 0;
    if (ok) {
      /* The group's pids, deduplicated as a merged report may repeat them. */
      json_t *pids = json_array();
      union_into(pids, seen, json_object_get(group, "pids"));
      json_object_set_new(group, "pids", pids);
      ok = json_array_append(pid_sets, seen) == 0;
    }
    json_decref(seen);
    free(key);
    return ok;
  }
  free(key);
  size_t position = (size_t)json_integer_value(at);
  json_t *group = json_array_get(groups, position);
  json_object_set_new(group, "count", json_integer(report_add(report_int(group, "count", 0),
                                                              report_int(entry, "count", 0))));
  if (is_leak) {
    double have = json_number_value(json_object_get(group, "oldest_age_s"));
    double age = json_number_value(json_object_get(entry, "oldest_age_s"));
    if (age > have) json_object_set_new(group, "oldest_age_s", json_real(age));
    extend_array(group, "items", json_object_get(entry, "items"));
  } else {
    extend_array(group, "holders", json_object_get(entry, "holders"));
  }
  union_into(json_object_get(group, "pids"), json_array_get(pid_sets, position),
             json_object_get(entry, "pids"));
  return true;
}

/* Turns one process's leak or finding into a group entry: "pids" names the
 * process, each item says which process it came from, and a missing count
 * is the number of items (or one). */
static json_t *single_entry(json_t *entry, json_t *pid) {
  json_t *copy = json_deep_copy(entry);
  if (!copy) return NULL;
  json_t *pids = json_array();
  json_array_append(pids, pid);
  json_object_set_new(copy, "pids", pids);
  json_t *items = json_object_get(copy, "items");
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) {
    if (json_is_object(item) && !json_object_get(item, "pid")) json_object_set(item, "pid", pid);
  }
  if (!json_is_integer(json_object_get(copy, "count"))) {
    size_t n = json_array_size(items);
    json_object_set_new(copy, "count", json_integer(n ? (json_int_t)n : 1));
  }
  return copy;
}

static char *process_key(const json_t *process) {
  pw__buf key;
  pw__buf_init(&key);
  pw__buf_printf(&key, "%lld" FIELD_SEP, report_int(process, "pid", -1));
  key_text(&key, report_string(process, "started_at"));
  pw__buf_puts(&key, FIELD_SEP);
  key_text(&key, report_string(process, "program"));
  return key.data;
}

/* Whether SET already holds PROCESS; if not, remembers it. Reading the
 * same report twice (a file and its directory) must not count it twice;
 * the index keeps 10,000 reports from costing 10,000² comparisons. */
static bool known_process(report_set *set, const json_t *process, bool remember) {
  char *key = process_key(process);
  if (!key) return false;
  bool known = json_object_get(set->process_index, key) != NULL;
  if (!known && remember) json_object_set_new(set->process_index, key, json_true());
  free(key);
  return known;
}

static bool check_array(const json_t *report, const char *key, const char *path) {
  json_t *v = json_object_get(report, key);
  if (!v || json_is_array(v)) return true;
  cli_error("%s: \"%s\" is not an array; is this a poolwatch report?", path, key);
  return false;
}

static bool check_entries(const json_t *report, const char *key, const char *path) {
  size_t i;
  json_t *entry;
  json_array_foreach(json_object_get(report, key), i, entry) {
    if (!json_is_object(entry)) {
      cli_error("%s: %s[%zu] is not an object", path, key, i);
      return false;
    }
  }
  return true;
}

/* Leaks the report lists as suppressed (if it lists them at all) are
 * already counted apart in its summary; they join no group of leaks, only
 * the suppressed groups that SARIF reports with a suppression. */
static bool is_suppressed(const json_t *entry) {
  return json_is_true(json_object_get(entry, "suppressed"));
}

static bool add_single(report_set *set, json_t *report, const char *path) {
  json_t *pid = json_object_get(report, "pid");
  if (!json_is_integer(pid)) {
    cli_error("%s: no \"pid\"; is this a poolwatch report?", path);
    return false;
  }
  json_t *process = json_object();
  static const char *const keys[] = {"pid", "ppid", "program", "argv",
                                     "started_at", "ended_at", "summary"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    json_t *v = json_object_get(report, keys[i]);
    if (v) json_object_set(process, keys[i], v);
  }
  json_object_set_new(process, "file", json_string(path));
  if (known_process(set, process, true)) {
    cli_error("%s: a report of process %lld was already read; skipping it", path,
              (long long)json_integer_value(pid));
    json_decref(process);
    return true;
  }
  json_array_append_new(set->processes, process);

  size_t i;
  json_t *entry;
  json_array_foreach(json_object_get(report, "pools"), i, entry) {
    json_t *pool = json_object();
    json_object_set(pool, "pid", pid);
    json_object_update(pool, entry);
    json_array_append_new(set->pools, pool);
  }
  bool ok = true;
  json_array_foreach(json_object_get(report, "leaks"), i, entry) {
    json_t *group = single_entry(entry, pid);
    if (is_suppressed(entry))
      ok = ok && group && add_group(set->suppressed, set->suppressed_index, set->suppressed_pids, group, true);
    else
      ok = ok && group && add_group(set->leaks, set->leak_index, set->leak_pids, group, true);
    json_decref(group);
  }
  json_array_foreach(json_object_get(report, "findings"), i, entry) {
    json_t *group = single_entry(entry, pid);
    ok = ok && group && add_group(set->findings, set->finding_index, set->finding_pids, group, false);
    json_decref(group);
  }
  if (!ok) cli_error("%s: out of memory", path);
  return ok;
}

static bool add_merged(report_set *set, json_t *report, const char *path) {
  json_t *processes = json_object_get(report, "processes");
  if (!json_is_array(processes)) {
    cli_error("%s: a merged report without \"processes\"", path);
    return false;
  }
  size_t i;
  json_t *entry;
  json_array_foreach(processes, i, entry) {
    if (!json_is_object(entry)) {
      cli_error("%s: processes[%zu] is not an object", path, i);
      return false;
    }
    if (known_process(set, entry, false)) {
      cli_error("%s: process %lld was already read; skipping this merged report", path,
                report_int(entry, "pid", -1));
      return true;
    }
  }
  json_array_foreach(processes, i, entry) known_process(set, entry, true);
  json_array_extend(set->processes, processes);
  json_array_foreach(json_object_get(report, "pools"), i, entry)
    json_array_append(set->pools, entry);
  bool ok = true;
  json_array_foreach(json_object_get(report, "leaks"), i, entry) {
    if (!json_is_array(json_object_get(entry, "pids")))
      json_object_set_new(entry, "pids", json_array());
    if (!is_suppressed(entry))
      ok = ok && add_group(set->leaks, set->leak_index, set->leak_pids, entry, true);
  }
  /* A merged report keeps its suppressed groups apart, under their own key. */
  json_array_foreach(json_object_get(report, "suppressed_leaks"), i, entry) {
    if (!json_is_object(entry)) continue;
    if (!json_is_array(json_object_get(entry, "pids")))
      json_object_set_new(entry, "pids", json_array());
    ok = ok && add_group(set->suppressed, set->suppressed_index, set->suppressed_pids, entry, true);
  }
  json_array_foreach(json_object_get(report, "findings"), i, entry) {
    if (!json_is_array(json_object_get(entry, "pids")))
      json_object_set_new(entry, "pids", json_array());
    ok = ok && add_group(set->findings, set->finding_index, set->finding_pids, entry, false);
  }
  if (!ok) cli_error("%s: out of memory", path);
  return ok;
}

/* Reports larger than this are refused: the largest real one, 100,000
 * leaks, is 7 MB, and jansson needs several times a file's size in memory. */
#define MAX_REPORT_BYTES (256L << 20)

/* jansson limits nesting to 2048 levels, which bounds the recursion. */
json_t *report_text_safe(json_t *v) {
  if (json_is_string(v)) {
    const char *text = json_string_value(v);
    if (!pw__text_needs_escape(text)) return v;
    pw__buf safe;
    pw__buf_init(&safe);
    pw__buf_text(&safe, text);
    if (!safe.failed && safe.len != strlen(text)) json_string_set(v, safe.data);
    pw__buf_free(&safe);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) report_text_safe(item);
  } else if (json_is_object(v)) {
    const char *key;
    json_t *item;
    void *tmp;
    json_object_foreach_safe(v, tmp, key, item) {
      report_text_safe(item);
      if (!pw__text_needs_escape(key)) continue;
      pw__buf safe;
      pw__buf_init(&safe);
      pw__buf_text(&safe, key);
      if (!safe.failed && safe.data && safe.len != strlen(key)) {
        json_object_set(v, safe.data, item);
        json_object_del(v, key);
      }
      pw__buf_free(&safe);
    }
  }
  return v;
}

/* Opens PATH for reading only if it is a regular file of sane size: a FIFO
 * would block for ever, /dev/zero would never end. */
static FILE *open_report(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    cli_error("%s: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  const char *why = NULL;
  if (fstat(fd, &st) != 0)
    why = strerror(errno);
  else if (S_ISDIR(st.st_mode))
    why = "a directory where a report file was expected";
  else if (!S_ISREG(st.st_mode))
    why = "not a regular file";
  else if (st.st_size > MAX_REPORT_BYTES)
    why = "larger than 256 MB; not a poolwatch report";
  FILE *f = why ? NULL : fdopen(fd, "r");
  if (!f) {
    cli_error("%s: %s", path, why ? why : strerror(errno));
    close(fd);
  }
  return f;
}

bool report_set_add_file(report_set *set, const char *path) {
  json_error_t error;
  FILE *f = open_report(path);
  if (!f) return false;
  json_t *report = json_loadf(f, 0, &error);
  fclose(f);
  if (!report) {
    if (error.line > 0)
      cli_error("%s:%d: not valid JSON: %s", path, error.line, error.text);
    else
      cli_error("%s: %s", path, error.text);
    return false;
  }
  report_text_safe(report);
  bool ok = false;
  if (!json_is_object(report) || !report_string(report, "tool") ||
      strcmp(report_string(report, "tool"), "poolwatch") != 0) {
    cli_error("%s: not a poolwatch report (no \"tool\": \"poolwatch\")", path);
  } else if (report_int(report, "schema", -1) != 1) {
    cli_error("%s: report schema %lld; this poolwatch reads schema 1", path,
              report_int(report, "schema", -1));
  } else if (check_array(report, "pools", path) && check_array(report, "leaks", path) &&
             check_array(report, "findings", path) && check_entries(report, "pools", path) &&
             check_entries(report, "leaks", path) && check_entries(report, "findings", path)) {
    ok = json_is_true(json_object_get(report, "merged")) ? add_merged(set, report, path)
                                                         : add_single(set, report, path);
  }
  json_decref(report);
  return ok;
}

bool report_is_file_name(const char *name) {
  static const char prefix[] = "poolwatch-";
  size_t n = strlen(prefix);
  if (strncmp(name, prefix, n) != 0) return false;
  const char *p = name + n;
  if (*p < '0' || *p > '9') return false;
  while (*p >= '0' && *p <= '9') p++;
  /* poolwatch-PID.N.json: the Nth process image of PID, after an exec. */
  if (p[0] == '.' && p[1] >= '1' && p[1] <= '9') {
    p++;
    while (*p >= '0' && *p <= '9') p++;
  }
  return strcmp(p, ".json") == 0;
}

static long pid_of(const char *name) { return strtol(name + strlen("poolwatch-"), NULL, 10); }

static int by_pid(const void *a, const void *b) {
  long x = pid_of(*(char *const *)a), y = pid_of(*(char *const *)b);
  return (x > y) - (x < y);
}

long report_list_dir(const char *dir, char ***names) {
  *names = NULL;
  DIR *d = opendir(dir);
  if (!d) return -1;
  long count = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!report_is_file_name(e->d_name)) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 16;
      char **more = realloc(*names, (size_t)cap * sizeof(char *));
      if (!more) break;
      *names = more;
    }
    char *copy = strdup(e->d_name);
    if (!copy) break;
    (*names)[count++] = copy;
  }
  closedir(d);
  if (count > 1) qsort(*names, (size_t)count, sizeof(char *), by_pid);
  return count;
}

void report_free_names(char **names, long count) {
  for (long i = 0; i < count; i++) free(names[i]);
  free(names);
}

bool report_set_add_path(report_set *set, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    cli_error("%s: %s", path, strerror(errno));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) return report_set_add_file(set, path);
  char **names;
  long count = report_list_dir(path, &names);
  if (count < 0) {
    cli_error("%s: %s", path, strerror(errno));
    return false;
  }
  if (count == 0) {
    cli_error("%s: no poolwatch-PID.json reports in this directory", path);
    return false;
  }
  bool ok = true;
  for (long i = 0; i < count && ok; i++) {
    pw__buf file;
    pw__buf_init(&file);
    pw__buf_printf(&file, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
    ok = !file.failed && report_set_add_file(set, file.data);
    pw__buf_free(&file);
  }
  report_free_names(names, count);
  return ok;
}

void report_set_totals(const report_set *set, report_totals *totals) {
  memset(totals, 0, sizeof(*totals));
  size_t i;
  json_t *process;
  json_array_foreach(set->processes, i, process) {
    json_t *summary = json_object_get(process, "summary");
    totals->processes++;
    totals->leaked_connections =
        report_add(totals->leaked_connections, report_int(summary, "leaked_connections", 0));
    totals->leaked_checkouts =
        report_add(totals->leaked_checkouts, report_int(summary, "leaked_checkouts", 0));
    totals->leak_groups = report_add(totals->leak_groups, report_int(summary, "leak_groups", 0));
    totals->suppressed = report_add(totals->suppressed, report_int(summary, "suppressed", 0));
    totals->findings = report_add(totals->findings, report_int(summary, "findings", 0));
  }
}
