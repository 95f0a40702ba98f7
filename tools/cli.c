/* The argument helpers every subcommand of `poolwatch` shares, so every
 * bad argument gets the same clear message and exit status. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_usage_error(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "poolwatch %s: ", command);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry 'poolwatch %s --help'.\n", command);
  va_end(ap);
  return EXIT_TROUBLE;
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("poolwatch: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\n", stderr);
  va_end(ap);
}

bool cli_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

int cli_option_value(int argc, char **argv, int *i, const char *command, const char *name,
                     const char **value) {
  const char *arg = argv[*i];
  size_t len = strlen(name);
  if (strncmp(arg, name, len) != 0) return 0;
  if (arg[len] == '=') {
    *value = arg + len + 1;
    return 1;
  }
  if (arg[len] != '\0') return 0;
  if (*i + 1 >= argc) {
    cli_usage_error(command, "%s needs a value", name);
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

void cli_print_wrapped(FILE *out, int indent, const char *text) {
  enum { WIDTH = 80 };
  size_t room = WIDTH > indent + 20 ? (size_t)(WIDTH - indent) : 20;
  const char *p = text;
  while (*p) {
    size_t len = strlen(p), cut = len;
    if (len > room) {
      cut = room;
      while (cut > 0 && p[cut] != ' ') cut--;
      if (cut == 0) cut = room; /* one word longer than a line */
    }
    fprintf(out, "%*s%.*s\n", indent, "", (int)cut, p);
    p += cut;
    while (*p == ' ') p++;
  }
}
