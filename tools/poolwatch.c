/* The `poolwatch` command: runs a program under the shim, reads and merges
 * leak reports, prints dashboard configurations and shows a running
 * process's pools. This file dispatches to the subcommands and holds what
 * they share. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_top.h"
#include "common/options.h"

#ifndef POOLWATCH_VERSION
#error "the build must define POOLWATCH_VERSION"
#endif

static const char usage_text[] =
    "Usage: poolwatch COMMAND [ARGS...]\n"
    "\n"
    "Finds database connection leaks in programs that use libpq (PostgreSQL).\n"
    "\n"
    "Commands:\n"
    "  run [OPTIONS] -- PROGRAM [ARGS...]\n"
    "        run PROGRAM with libpoolwatch.so preloaded and summarize its reports\n"
    "  report [--format text|json] [--baseline OLD] [--fail-on-leaks] FILE|DIR...\n"
    "        print, merge and compare poolwatch-PID.json reports\n"
    "  dashboard [--format simple|grafana] [--report FILE|DIR]...\n"
    "        print a dashboard configuration\n"
    "  top [--once] [--interval DURATION] PID\n"
    "        show the pools of a process running with POOLWATCH_LIVE=1 as they change\n"
    "  help [COMMAND]   show this help, or a command's\n"
    "  --version        show the version\n"
    "\n"
    "Without the command, set the variables below and preload the library:\n"
    "  POOLWATCH_OUTPUT_DIR=DIR LD_PRELOAD=/path/to/libpoolwatch.so PROGRAM\n"
    "\n";

static void print_environment_help(FILE *out) {
  fputs("Environment (read by the library; `poolwatch run` flags in brackets):\n", out);
  for (size_t i = 0; i < pw__option_count; i++) {
    const pw__option *opt = &pw__option_table[i];
    fprintf(out, "  %s", opt->name);
    if (opt->flag) fprintf(out, "  [%s%s%s]", opt->flag, opt->metavar ? " " : "",
                           opt->metavar ? opt->metavar : "");
    fputs("\n", out);
    cli_print_wrapped(out, 8, opt->description);
    fprintf(out, "        default: %s\n", opt->default_text);
  }
  fputs("  POOLWATCH_LIBRARY\n"
        "        path of libpoolwatch.so for `poolwatch run`\n"
        "        default: found next to the poolwatch command\n",
        out);
}

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
  {"run", cmd_run},
  {"report", cmd_report},
  {"dashboard", cmd_dashboard},
  {"top", cmd_top},
};

static const command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_text, stderr);
    return EXIT_TROUBLE;
  }
  const char *name = argv[1];
  if (cli_is_help(name) || strcmp(name, "help") == 0) {
    if (argc > 2 && strcmp(name, "help") == 0) {
      const command *c = find_command(argv[2]);
      if (!c) {
        cli_error("unknown command '%s'\nTry 'poolwatch --help'.", argv[2]);
        return EXIT_TROUBLE;
      }
      char *help_argv[] = {argv[2], "--help", NULL};
      return c->run(2, help_argv);
    }
    fputs(usage_text, stdout);
    print_environment_help(stdout);
    return 0;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 ||
      strcmp(name, "version") == 0) {
    printf("poolwatch %s\n", POOLWATCH_VERSION);
    return 0;
  }
  const command *c = find_command(name);
  if (!c) {
    cli_error("unknown command '%s'\nTry 'poolwatch --help'.", name);
    return EXIT_TROUBLE;
  }
  return c->run(argc - 1, argv + 1);
}
