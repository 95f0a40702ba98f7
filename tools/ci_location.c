/* The frame picker and identities shared by the CI formats. */
#include "ci_location.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/stat.h>

#include "cli.h"
#include "common/buf.h"
#include "report_load.h"

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Native modules that are never the user's code, by base-name prefix. The
 * C library's family and the loader; the interpreters, which run the
 * user's code but are not it (psycopg2's leaks are reported with python3's
 * frames around the driver's); the drivers and pools themselves. */
static const char *const library_prefixes[] = {
    "libpoolwatch", "libpq.so", "libzdb.so", "libc.so", "libc-", "ld-linux", "ld-", "libpthread",
    "libdl.so", "libm.so", "librt.so", "libunwind", "libdw", "libstdc++", "libgcc_s",
    "python", "libpython", "ruby", "libruby", "perl", "libperl", "php", "libphp",
    "_psycopg", "psycopg", "Pg.so", "pg_ext.so", "DBI.so", "pdo_pgsql", "pgsql.so",
};

/* Interpreted packages that are drivers or pools, by module name or by a
 * directory in the file's path. */
static const char *const package_names[] = {
    "sqlalchemy", "psycopg2", "psycopg", "psycopg_pool", "activerecord", "active_record",
    "activesupport", "active_support", "pg", "DBI", "DBD", "connection_pool",
};

static bool is_interpreted(const json_t *frame) {
  const char *language = report_string(frame, "language");
  if (!language) return false;
  return strcmp(language, "python") == 0 || strcmp(language, "ruby") == 0 ||
         strcmp(language, "perl") == 0 || strcmp(language, "php") == 0;
}

static bool names_package(const char *module, const char *file) {
  for (size_t i = 0; i < sizeof(package_names) / sizeof(package_names[0]); i++) {
    const char *name = package_names[i];
    size_t n = strlen(name);
    if (module && strcmp(base_name(module), name) == 0) return true;
    /* "/sqlalchemy/" anywhere in the path, or DBI.pm's "/DBI.pm". */
    for (const char *p = file ? strstr(file, name) : NULL; p; p = strstr(p + 1, name)) {
      if (p > file && p[-1] == '/' && (p[n] == '/' || p[n] == '.')) return true;
    }
  }
  return false;
}

/* An interpreter's own library: Python's, Ruby's, Perl's or PHP's standard
 * modules (threading.py, Ruby's monitor.rb) are not the user's code. */
static bool in_interpreter_library(const char *file) {
  static const char *const dirs[] = {"/usr/lib/python", "/usr/local/lib/python", "/usr/lib/ruby/",
                                     "/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl",
                                     "/usr/share/php/"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    if (starts_with(file, dirs[i]) && !strstr(file, "-packages/")) return true;
  }
  return false;
}

static bool is_library_frame(const json_t *frame) {
  const char *module = report_string(frame, "module");
  const char *file = report_string(frame, "file");
  if (is_interpreted(frame))
    return names_package(module, file) || (file && in_interpreter_library(file));
  if (!module) return false;
  const char *name = base_name(module);
  for (size_t i = 0; i < sizeof(library_prefixes) / sizeof(library_prefixes[0]); i++) {
    if (starts_with(name, library_prefixes[i])) return true;
  }
  return false;
}

/* The user's frame in STACK, or -1 when every frame is a library's. */
static long strict_user_frame(const json_t *stack) {
  size_t n = json_array_size(stack);
  long native_with_file = -1, first_left = -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *frame = json_array_get(stack, i);
    bool has_file = report_string(frame, "file") != NULL;
    if (is_library_frame(frame)) continue;
    if (is_interpreted(frame) && has_file) return (long)i;
    if (has_file && native_with_file < 0) native_with_file = (long)i;
    if (first_left < 0) first_left = (long)i;
  }
  return native_with_file >= 0 ? native_with_file : first_left;
}

/* With no frame of the user's, the innermost frame stands in: a library's
 * file such as python3's "../Objects/typeobject.c" would send the reader
 * to a line that is not theirs (psycopg2's leaks, before Python frames). */
long ci_user_frame(const json_t *stack) {
  if (json_array_size(stack) == 0) return -1;
  long at = strict_user_frame(stack);
  return at >= 0 ? at : 0;
}

const json_t *ci_group_frame(const json_t *group) {
  const json_t *stack = json_object_get(group, "stack");
  long at = strict_user_frame(stack);
  if (at >= 0) return json_array_get(stack, (size_t)at);
  /* A pool ran dry inside the library: the user's code is where the
   * connections are held. */
  const json_t *others[] = {json_object_get(group, "other_stack"), NULL};
  size_t i;
  json_t *holder;
  json_array_foreach(json_object_get(group, "holders"), i, holder) {
    others[1] = json_object_get(holder, "stack");
    break;
  }
  for (size_t k = 0; k < 2; k++) {
    long o = others[k] ? strict_user_frame(others[k]) : -1;
    if (o >= 0) return json_array_get(others[k], (size_t)o);
  }
  at = ci_user_frame(stack);
  return at >= 0 ? json_array_get(stack, (size_t)at) : NULL;
}

const char *ci_relative_path(const char *file, const char *root) {
  if (!file || !root || !*root) return file;
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/') n--;
  if (strncmp(file, root, n) != 0) return file;
  if (n == 1 && root[0] == '/') return file[0] == '/' ? file + 1 : file;
  if (file[n] != '/') return file;
  return file + n + 1;
}

/* FNV-1a, 64 bits: the fingerprint needs stability, not secrecy. */
static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void ci_group_fingerprint(const json_t *group, char out[17]) {
  char *signature = report_group_signature(group);
  snprintf(out, 17, "%016llx", (unsigned long long)fnv1a(signature ? signature : ""));
  free(signature);
}

char *ci_frame_brief(const json_t *frame, bool with_line) {
  const char *function = report_string(frame, "function");
  const char *file = report_string(frame, "file");
  const char *module = report_string(frame, "module");
  long long line = report_int(frame, "line", 0);
  pw__buf b;
  pw__buf_init(&b);
  pw__buf_puts(&b, function ? function : "??");
  if (file && line > 0 && with_line)
    pw__buf_printf(&b, " (%s:%lld)", base_name(file), line);
  else if (file)
    pw__buf_printf(&b, " (%s)", base_name(file));
  else if (module)
    pw__buf_printf(&b, " (%s)", base_name(module));
  if (b.failed) {
    pw__buf_free(&b);
    return NULL;
  }
  return b.data;
}

void ci_print_summary_line(FILE *out, const json_t *merged) {
  const json_t *s = json_object_get(merged, "summary");
  fprintf(out,
          "SUMMARY: poolwatch: %lld leaked connections, %lld leaked checkouts in %lld groups, "
          "%lld findings (%lld suppressed)\n",
          report_int(s, "leaked_connections", 0), report_int(s, "leaked_checkouts", 0),
          report_int(s, "leak_groups", 0), report_int(s, "findings", 0),
          report_int(s, "suppressed", 0));
}

char *ci_source_root(const char *dir) {
  char *root = realpath(dir, NULL);
  struct stat st;
  if (!root || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
    cli_error("--source-root %s: %s", dir, root ? strerror(ENOTDIR) : strerror(errno));
    free(root);
    return NULL;
  }
  return root;
}
