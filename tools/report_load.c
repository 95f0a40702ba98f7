/* Loading and merging poolwatch-PID.json reports. */
#include "report_load.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "cli.h"

/* Separators for group keys: control characters that no function, file or
 * module name contains, so distinct stacks never share a key. */
#define FIELD_SEP "\x1f"
#define FRAME_SEP "\x1e"

long long report_int(const json_t *object, const char *key, long long fallback) {
  json_t *v = json_object_get(object, key);
  if (json_is_integer(v)) return json_integer_value(v);
  if (json_is_real(v)) return (long long)json_real_value(v);
  return fallback;
}

const char *report_string(const json_t *object, const char *key) {
  return json_string_value(json_object_get(object, key));
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
  if (set->processes && set->pools && set->leaks && set->findings && set->suppressed &&
      set->leak_index && set->finding_index && set->suppressed_index)
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

/* Appends to array A the elements of B that A lacks (pids: few, so a
 * linear search is fine). */
static void union_into(json_t *a, const json_t *b) {
  size_t i, j;
  json_t *x, *y;
  json_array_foreach(b, i, x) {
    bool found = false;
    json_array_foreach(a, j, y) {
      if (json_equal(x, y)) {
        found = true;
        break;
      }
    }
    if (!found) json_array_append(a, x);
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
static bool add_group(json_t *groups, json_t *index, json_t *entry, bool is_leak) {
  char *key = group_key(entry);
  if (!key) return false;
  json_t *at = json_object_get(index, key);
  if (!at) {
    json_t *group = json_deep_copy(entry);
    bool ok = group && json_object_set_new(index, key, json_integer((json_int_t)json_array_size(groups))) == 0 &&
              json_array_append_new(groups, group) == 0;
    free(key);
    return ok;
  }
  free(key);
  json_t *group = json_array_get(groups, (size_t)json_integer_value(at));
  json_object_set_new(group, "count", json_integer(report_int(group, "count", 0) +
                                                   report_int(entry, "count", 0)));
  if (is_leak) {
    double have = json_number_value(json_object_get(group, "oldest_age_s"));
    double age = json_number_value(json_object_get(entry, "oldest_age_s"));
    if (age > have) json_object_set_new(group, "oldest_age_s", json_real(age));
    extend_array(group, "items", json_object_get(entry, "items"));
  } else {
    extend_array(group, "holders", json_object_get(entry, "holders"));
  }
  union_into(json_object_get(group, "pids"), json_object_get(entry, "pids"));
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

static bool known_process(const report_set *set, const json_t *process) {
  char *key = process_key(process);
  bool known = false;
  size_t i;
  json_t *have;
  json_array_foreach(set->processes, i, have) {
    char *other = process_key(have);
    known = key && other && strcmp(key, other) == 0;
    free(other);
    if (known) break;
  }
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
  if (known_process(set, process)) {
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
      ok = ok && group && add_group(set->suppressed, set->suppressed_index, group, true);
    else
      ok = ok && group && add_group(set->leaks, set->leak_index, group, true);
    json_decref(group);
  }
  json_array_foreach(json_object_get(report, "findings"), i, entry) {
    json_t *group = single_entry(entry, pid);
    ok = ok && group && add_group(set->findings, set->finding_index, group, false);
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
    if (known_process(set, entry)) {
      cli_error("%s: process %lld was already read; skipping this merged report", path,
                report_int(entry, "pid", -1));
      return true;
    }
  }
  json_array_extend(set->processes, processes);
  json_array_foreach(json_object_get(report, "pools"), i, entry)
    json_array_append(set->pools, entry);
  bool ok = true;
  json_array_foreach(json_object_get(report, "leaks"), i, entry) {
    if (!json_is_array(json_object_get(entry, "pids")))
      json_object_set_new(entry, "pids", json_array());
    if (!is_suppressed(entry)) ok = ok && add_group(set->leaks, set->leak_index, entry, true);
  }
  /* A merged report keeps its suppressed groups apart, under their own key. */
  json_array_foreach(json_object_get(report, "suppressed_leaks"), i, entry) {
    if (!json_is_object(entry)) continue;
    if (!json_is_array(json_object_get(entry, "pids")))
      json_object_set_new(entry, "pids", json_array());
    ok = ok && add_group(set->suppressed, set->suppressed_index, entry, true);
  }
  json_array_foreach(json_object_get(report, "findings"), i, entry) {
    if (!json_is_array(json_object_get(entry, "pids")))
      json_object_set_new(entry, "pids", json_array());
    ok = ok && add_group(set->findings, set->finding_index, entry, false);
  }
  if (!ok) cli_error("%s: out of memory", path);
  return ok;
}

bool report_set_add_file(report_set *set, const char *path) {
  json_error_t error;
  json_t *report = json_load_file(path, 0, &error);
  if (!report) {
    if (error.line > 0)
      cli_error("%s:%d: not valid JSON: %s", path, error.line, error.text);
    else
      cli_error("%s: %s", path, error.text);
    return false;
  }
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
    totals->leaked_connections += report_int(summary, "leaked_connections", 0);
    totals->leaked_checkouts += report_int(summary, "leaked_checkouts", 0);
    totals->leak_groups += report_int(summary, "leak_groups", 0);
    totals->suppressed += report_int(summary, "suppressed", 0);
    totals->findings += report_int(summary, "findings", 0);
  }
}
