/* `poolwatch run`: runs a program with the library preloaded, then reads
 * every report it and its children wrote and acts as a CI gate. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common/buf.h"
#include "common/options.h"
#include "common/output.h"
#include "library_path.h"
#include "program_check.h"
#include "report_load.h"
#include "report_text.h"
#include "run.h"
#include "run_ci.h"

/* Per-process lines in the summary; the rest are in the files. */
#define MAX_PROCESS_LINES 10


static void print_run_help(FILE *out) {
  fputs("Usage: poolwatch run [OPTIONS] [--] PROGRAM [ARGS...]\n"
        "\n"
        "Runs PROGRAM with libpoolwatch.so preloaded (prepended to LD_PRELOAD), so\n"
        "PROGRAM and every process it starts write a report when they exit. Then\n"
        "reads those reports and prints a short summary on stderr.\n"
        "\n"
        "It is meant for programs that use PostgreSQL through libpq: a process that\n"
        "never does writes no report. When no process wrote one, `run` says why: a\n"
        "static or set-user-ID program, where the library cannot load, fails; a\n"
        "program that ran with it but never used libpq keeps its own status.\n"
        "\n"
        "Options (each sets the variable in brackets; an option not given keeps\n"
        "the variable's value from the environment):\n",
        out);
  for (size_t i = 0; i < pw__option_count; i++) {
    const pw__option *opt = &pw__option_table[i];
    if (!opt->flag) continue;
    const char *default_text = opt->default_text;
    if (strcmp(opt->name, "POOLWATCH_OUTPUT_DIR") == 0)
      default_text = "a new directory under $TMPDIR or /tmp, printed at the end";
    else if (strcmp(opt->name, "POOLWATCH_EXITCODE") == 0)
      default_text = "the program's own status";
    char usage[64];
    snprintf(usage, sizeof(usage), "%s%s%s", opt->flag, opt->metavar ? " " : "",
             opt->metavar ? opt->metavar : "");
    /* Descriptions run to 110 columns: wrapped to 80, as `poolwatch --help` does. */
    fprintf(out, "  %-24s [%s]\n", usage, opt->name);
    cli_print_wrapped(out, 8, opt->description);
    char default_line[256];
    snprintf(default_line, sizeof(default_line), "default: %s", default_text);
    cli_print_wrapped(out, 8, default_line);
  }
  run_ci_print_help(out);
  fputs("  -h, --help\n"
        "        show this help\n"
        "\n"
        "--exitcode applies to every report: the status is N when any process left\n"
        "unsuppressed leaks. The library's own POOLWATCH_EXITCODE is not passed on,\n"
        "so the program and its children behave as without poolwatch. The summary\n"
        "ends with one line for log scrapers: \"SUMMARY: poolwatch: N leaked\n"
        "connections, M leaked checkouts in G groups, F findings (S suppressed)\".\n"
        "\n"
        "Exit status: the program's own (128+N when killed by signal N); N of\n"
        "--exitcode when leaks remain; 125 for poolwatch's own failures (the\n"
        "library could not load, a report could not be read, wrong arguments);\n"
        "126 or 127 when PROGRAM could not be started. Processes PROGRAM leaves\n"
        "running in the background report when they exit, after this summary.\n"
        "\n"
        "Environment: POOLWATCH_LIBRARY, the library to preload (default: the one\n"
        "installed or built beside this command).\n",
        out);
}

static bool valid_value(const pw__option *opt, const char *value) {
  long l;
  double d;
  switch (opt->kind) {
    case PW__OPTION_INT: return pw__parse_long(value, opt->min, opt->max, &l);
    case PW__OPTION_DURATION: return pw__parse_duration(value, &d);
    case PW__OPTION_PATH: return *value != '\0';
    case PW__OPTION_BOOL: return true;
  }
  return false;
}

static int bad_value(const pw__option *opt, const char *value) {
  switch (opt->kind) {
    case PW__OPTION_INT:
      return cli_usage_error("run", "%s takes a whole number from %ld to %ld, not '%s'",
                             opt->flag, opt->min, opt->max, value);
    case PW__OPTION_DURATION:
      return cli_usage_error("run", "%s takes a positive duration such as 250ms, 30s or 5m, not '%s'",
                             opt->flag, value);
    default:
      return cli_usage_error("run", "%s needs a non-empty value", opt->flag);
  }
}

/* Returns -1 when parsed, else the exit status to return at once. */
static int parse_args(int argc, char **argv, run_args *args) {
  memset(args, 0, sizeof(*args));
  args->exitcode = -1;
  args->values = calloc(pw__option_count, sizeof(char *));
  if (!args->values) {
    cli_error("out of memory");
    return EXIT_TROUBLE;
  }
  /* The gate's defaults are the variables, as for every other option. */
  const char *env = getenv("POOLWATCH_EXITCODE");
  if (env && *env && !pw__parse_long(env, 0, 255, &args->exitcode)) {
    cli_error("warning: POOLWATCH_EXITCODE='%s' is not a whole number from 0 to 255; ignoring it", env);
    args->exitcode = -1;
  }
  env = getenv("POOLWATCH_OUTPUT_DIR");
  if (env && *env) args->output_dir = env;
  run_ci_defaults(&args->ci);

  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (cli_is_help(arg)) {
      print_run_help(stdout);
      return 0;
    }
    if (arg[0] != '-' || arg[1] == '\0') break;
    size_t opt_index = 0;
    const char *value = NULL;
    int taken = 0;
    if ((taken = run_ci_option(argc, argv, &i, &args->ci))) {
      if (taken < 0) return EXIT_TROUBLE;
      continue;
    }
    for (; opt_index < pw__option_count; opt_index++) {
      const pw__option *opt = &pw__option_table[opt_index];
      if (!opt->flag) continue;
      if (opt->kind == PW__OPTION_BOOL) {
        if (strcmp(arg, opt->flag) == 0) {
          value = "1";
          taken = 1;
          break;
        }
        size_t len = strlen(opt->flag);
        if (strncmp(arg, opt->flag, len) == 0 && arg[len] == '=')
          return cli_usage_error("run", "%s takes no value", opt->flag);
        continue;
      }
      taken = cli_option_value(argc, argv, &i, "run", opt->flag, &value);
      if (taken) break;
    }
    if (taken < 0) return EXIT_TROUBLE;
    if (!taken) return cli_usage_error("run", "unknown option '%s'", arg);
    const pw__option *opt = &pw__option_table[opt_index];
    if (!valid_value(opt, value)) return bad_value(opt, value);
    if (strcmp(opt->name, "POOLWATCH_EXITCODE") == 0)
      pw__parse_long(value, opt->min, opt->max, &args->exitcode);
    else if (strcmp(opt->name, "POOLWATCH_OUTPUT_DIR") == 0)
      args->output_dir = value;
    else
      args->values[opt_index] = value;
  }
  if (i >= argc) return cli_usage_error("run", "name the PROGRAM to run");
  args->program = argv + i;
  return -1;
}

/* The absolute output directory (to free), created if needed. Absolute,
 * because the program may change its working directory before it exits. */
static char *prepare_output_dir(const char *requested) {
  if (requested) {
    /* The library would create a missing directory too, but `run` must
     * know where the reports go before the program starts. */
    if (!pw__output_dir_ready(requested)) {
      cli_error("cannot create the output directory %s: %s", requested, strerror(errno));
      return NULL;
    }
    char *dir = realpath(requested, NULL);
    if (!dir) cli_error("%s: %s", requested, strerror(errno));
    return dir;
  }
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  pw__buf path;
  pw__buf_init(&path);
  pw__buf_printf(&path, "%s/poolwatch.XXXXXX", tmp);
  if (!path.data || !mkdtemp(path.data)) {
    cli_error("cannot create a directory under %s: %s", tmp, strerror(errno));
    pw__buf_free(&path);
    return NULL;
  }
  char *dir = realpath(path.data, NULL);
  pw__buf_free(&path);
  return dir;
}

/* Reports already in the directory before the run, so that a reused
 * directory's old reports are not taken for this run's. A report rewritten
 * by a process with a reused pid gets a new inode (the library renames a
 * new file into place), so it counts as new. */
typedef struct old_report {
  char *name;
  dev_t dev;
  ino_t ino;
  struct timespec mtime;
} old_report;

typedef struct old_reports {
  old_report *list;
  long count;
} old_reports;

static bool stat_report(const char *dir, const char *name, struct stat *st) {
  pw__buf path;
  pw__buf_init(&path);
  pw__buf_printf(&path, "%s/%s", dir, name);
  bool ok = path.data && stat(path.data, st) == 0;
  pw__buf_free(&path);
  return ok;
}

static void remember_old_reports(const char *dir, old_reports *old) {
  memset(old, 0, sizeof(*old));
  char **names;
  long count = report_list_dir(dir, &names);
  if (count <= 0) return;
  old->list = calloc((size_t)count, sizeof(old_report));
  for (long i = 0; old->list && i < count; i++) {
    struct stat st;
    if (!stat_report(dir, names[i], &st)) continue;
    old_report *o = &old->list[old->count++];
    o->name = names[i];
    names[i] = NULL;
    o->dev = st.st_dev;
    o->ino = st.st_ino;
    o->mtime = st.st_mtim;
  }
  report_free_names(names, count);
}

static bool is_old_report(const old_reports *old, const char *dir, const char *name) {
  struct stat st;
  if (!stat_report(dir, name, &st)) return false;
  for (long i = 0; i < old->count; i++) {
    const old_report *o = &old->list[i];
    if (strcmp(o->name, name) == 0 && o->dev == st.st_dev && o->ino == st.st_ino &&
        o->mtime.tv_sec == st.st_mtim.tv_sec && o->mtime.tv_nsec == st.st_mtim.tv_nsec)
      return true;
  }
  return false;
}

static void free_old_reports(old_reports *old) {
  for (long i = 0; i < old->count; i++) free(old->list[i].name);
  free(old->list);
}

/* Reads this run's reports into SET; returns how many could not be read. */
static long read_new_reports(const char *dir, const old_reports *old, report_set *set) {
  char **names;
  long count = report_list_dir(dir, &names);
  if (count < 0) {
    cli_error("cannot read %s: %s", dir, strerror(errno));
    return 1;
  }
  long failed = 0;
  for (long i = 0; i < count; i++) {
    if (is_old_report(old, dir, names[i])) continue;
    pw__buf path;
    pw__buf_init(&path);
    pw__buf_printf(&path, "%s/%s", dir, names[i]);
    if (!path.data || !report_set_add_file(set, path.data)) failed++;
    pw__buf_free(&path);
  }
  report_free_names(names, count);
  return failed;
}

static void print_process_lines(const report_set *set) {
  size_t i;
  json_t *p;
  int printed = 0, left = 0;
  json_array_foreach(set->processes, i, p) {
    const json_t *s = json_object_get(p, "summary");
    long long connections = report_int(s, "leaked_connections", 0);
    long long checkouts = report_int(s, "leaked_checkouts", 0);
    long long findings = report_int(s, "findings", 0);
    /* Counts come from report files, which may hold anything: summed
     * without overflow. */
    if (report_add(report_add(connections, checkouts), findings) == 0) continue;
    if (printed == MAX_PROCESS_LINES) {
      left++;
      continue;
    }
    printed++;
    const char *program = report_string(p, "program");
    const char *file = report_string(p, "file");
    fprintf(stderr, "poolwatch:   process %lld %s: ", report_int(p, "pid", -1), program ? program : "?");
    report_print_count(stderr, connections, "leaked connection", "leaked connections");
    fputs(", ", stderr);
    report_print_count(stderr, checkouts, "leaked checkout", "leaked checkouts");
    fputs(", ", stderr);
    report_print_count(stderr, findings, "finding", "findings");
    /* The text report sits beside the JSON one. */
    if (file) {
      size_t len = strlen(file);
      fprintf(stderr, " (%.*s.txt)", (int)(len > 5 ? len - 5 : len), file);
    }
    fputs("\n", stderr);
  }
  if (left) fprintf(stderr, "poolwatch:   and %d more processes with leaks or findings\n", left);
}

static void print_summary(const report_totals *t, const report_set *set, const char *dir) {
  fputs("poolwatch: ", stderr);
  report_print_count(stderr, t->processes, "process", "processes");
  fputs(" reported ", stderr);
  report_print_count(stderr, t->leaked_connections, "leaked connection", "leaked connections");
  fputs(", ", stderr);
  report_print_count(stderr, t->leaked_checkouts, "leaked checkout", "leaked checkouts");
  fputs(", ", stderr);
  report_print_count(stderr, t->findings, "finding", "findings");
  fprintf(stderr, ", %lld suppressed\n", t->suppressed);
  print_process_lines(set);
  fprintf(stderr, "poolwatch: reports in %s (merge them with: poolwatch report %s)\n", dir, dir);
}

/* Says why PROGRAM wrote no report. Returns true when that is no failure:
 * the library was loaded and the program never used libpq or a pool. A
 * library that could not be loaded fails the gate (it fails closed). */
static bool explain_no_report(const char *program, int killed_by) {
  if (killed_by) {
    cli_error("no report from %s: it was killed before any process wrote one", program);
    return false;
  }
  char which[4096];
  switch (program_check(program, which, sizeof which)) {
    case PROGRAM_STATIC:
      cli_error("no report from %s: %s is a static binary, so the loader cannot preload "
                "libpoolwatch.so into it", program, which);
      return false;
    case PROGRAM_SETUID:
      cli_error("no report from %s: %s is set-user-ID or set-group-ID, so the loader "
                "ignores LD_PRELOAD for it", program, which);
      return false;
    case PROGRAM_UNKNOWN:
      cli_error("no report from %s, and %s cannot be examined to tell why", program, program);
      return false;
    case PROGRAM_PRELOADABLE:
      break;
  }
  cli_error("no report from %s: poolwatch was loaded, but no process used libpq or a "
            "connection pool (programs that speak the PostgreSQL protocol without libpq, such "
            "as JDBC, node-postgres or asyncpg, are out of reach)", program);
  return true;
}

int cmd_run(int argc, char **argv) {
  run_args args;
  int status = parse_args(argc, argv, &args);
  char *library = NULL, *dir = NULL;
  old_reports old = {NULL, 0};
  if (status >= 0) goto out;
  status = EXIT_TROUBLE;
  if (!(library = find_shim_library())) goto out;
  if (!(dir = prepare_output_dir(args.output_dir))) goto out;
  remember_old_reports(dir, &old);
  if (!run_set_environment(&args, library, dir)) {
    cli_error("cannot set the environment: %s", strerror(errno));
    status = EXIT_TROUBLE;
    goto out;
  }

  int exec_errno = 0, killed_by = 0;
  status = run_program(args.program, &exec_errno, &killed_by);
  if (status < 0) {
    status = exec_errno == ENOENT ? 127 : exec_errno ? 126 : EXIT_TROUBLE;
    goto out;
  }

  report_set set;
  if (!report_set_init(&set)) {
    status = EXIT_TROUBLE;
    goto out;
  }
  long unreadable = read_new_reports(dir, &old, &set);
  report_totals totals;
  report_set_totals(&set, &totals);
  if (totals.processes == 0 && unreadable == 0) {
    if (!explain_no_report(args.program[0], killed_by)) status = EXIT_TROUBLE;
    /* Leave no empty directories behind in /tmp, one per run. */
    if (args.output_dir || rmdir(dir) != 0) cli_error("reports were expected in %s", dir);
  } else {
    print_summary(&totals, &set, dir);
    bool written = run_ci_write(&args.ci, &set);
    if (!written) {
      status = EXIT_TROUBLE;
    } else if (unreadable) {
      cli_error("%ld %s could not be read", unreadable, unreadable == 1 ? "report" : "reports");
      status = EXIT_TROUBLE;
    } else if (args.exitcode >= 0 && report_add(totals.leaked_connections, totals.leaked_checkouts) > 0) {
      status = (int)args.exitcode;
    }
  }
  report_set_free(&set);
out:
  free(args.values);
  free_old_reports(&old);
  free(dir);
  free(library);
  return status;
}
