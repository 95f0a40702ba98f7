/* What `poolwatch run` is asked, and the steps it takes: the environment
 * it sets up for the program, and the program's run. */
#ifndef POOLWATCH_RUN_H
#define POOLWATCH_RUN_H

#include <stdbool.h>

#include "run_ci.h"

typedef struct run_args {
  const char **values;    /* by position in pw__option_table; NULL: not given */
  long exitcode;          /* -1: the program's own status */
  const char *output_dir; /* NULL: a new temporary directory */
  char **program;         /* PROGRAM ARGS..., NULL-terminated */
  run_ci_args ci;          /* --sarif, --junit, --github, --source-root */
} run_args;

/* Sets the options' variables, LD_PRELOAD (LIBRARY first), the output
 * directory, and each language's start-up hook for poolwatch's support. */
bool run_set_environment(const run_args *args, const char *library, const char *output_dir);

/* Runs PROGRAM and returns its exit status as a shell reports it, or -1
 * (after a message) when it could not be started; *EXEC_ERRNO then says
 * why. *KILLED_BY is the signal that killed it, if one did. */
int run_program(char **program, int *exec_errno, int *killed_by);

#endif
