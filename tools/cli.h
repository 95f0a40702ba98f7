/* What the `poolwatch` command's subcommands share: their entry points and
 * the argument helpers that give every bad argument the same clear message
 * and exit status. */
#ifndef POOLWATCH_CLI_H
#define POOLWATCH_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit status for poolwatch's own failures: bad arguments, and anything
 * that stops a command from doing its job (an unreadable report, no report
 * from `run` where one was expected). 125, as GNU env and timeout use, so
 * that it is never mistaken for a status the program could have returned. */
#define EXIT_TROUBLE 125

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dashboard(int argc, char **argv);

/* Prints "poolwatch COMMAND: MESSAGE" and a pointer to COMMAND's --help on
 * stderr; returns EXIT_TROUBLE for the caller to return. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "poolwatch: MESSAGE" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints TEXT indented by INDENT columns and wrapped at spaces so that no
 * line passes 80 columns; for the options table's descriptions in help. */
void cli_print_wrapped(FILE *out, int indent, const char *text);

/* Whether ARG is "-h" or "--help". */
bool cli_is_help(const char *arg);

/* Takes the value of option NAME at argv[*i], written "NAME VALUE" or
 * "NAME=VALUE". Returns 1 and advances *i past the value when argv[*i] is
 * NAME; 0 when it is another argument; -1 (after a usage message) when NAME
 * lacks its value. */
int cli_option_value(int argc, char **argv, int *i, const char *command, const char *name,
                     const char **value);

#endif
