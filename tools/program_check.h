/* Why a program run under `poolwatch run` wrote no report: whether the
 * loader could have preloaded libpoolwatch.so into it at all. */
#ifndef POOLWATCH_PROGRAM_CHECK_H
#define POOLWATCH_PROGRAM_CHECK_H

typedef enum program_kind {
  PROGRAM_PRELOADABLE, /* dynamic: the library was loaded */
  PROGRAM_STATIC,      /* no program interpreter: nothing can be preloaded */
  PROGRAM_SETUID,      /* runs with other ids: the loader ignores LD_PRELOAD */
  PROGRAM_UNKNOWN,     /* not found or not readable */
} program_kind;

/* Looks at PROGRAM (a path, or a name searched in PATH) as exec would
 * run it: its ELF headers, its set-user-ID and set-group-ID bits, and for
 * a script, its interpreter. Writes the file it judged to WHICH (CAP
 * bytes). */
program_kind program_check(const char *program, char *which, unsigned cap);

#endif
