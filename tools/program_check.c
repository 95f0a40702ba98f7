/* Telling a program the loader cannot preload into (static, set-user-ID)
 * from one that ran with poolwatch and never used libpq. */
#include "program_check.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int find_in_path(const char *name, char *out, unsigned cap) {
  if (strchr(name, '/')) return snprintf(out, cap, "%s", name) < (int)cap ? 0 : -1;
  const char *path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  for (const char *p = path;;) {
    const char *end = strchr(p, ':');
    int len = end ? (int)(end - p) : (int)strlen(p);
    if (snprintf(out, cap, "%.*s%s%s", len, len ? p : ".", "/", name) < (int)cap &&
        access(out, X_OK) == 0)
      return 0;
    if (!end) return -1;
    p = end + 1;
  }
}

/* Whether exec would change the process's ids: the loader then runs in
 * secure mode and ignores LD_PRELOAD. */
static int changes_ids(const struct stat *st) {
  return ((st->st_mode & S_ISUID) && st->st_uid != geteuid()) ||
         ((st->st_mode & S_ISGID) && st->st_gid != getegid());
}

/* Whether the ELF file on FD, of class BITS, has a program interpreter
 * (PT_INTERP): 1 or 0, -1 when unreadable. */
#define HAS_INTERPRETER(bits)                                                          \
  static int has_interpreter##bits(int fd) {                                           \
    Elf##bits##_Ehdr eh;                                                               \
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh) return -1;                 \
    for (unsigned i = 0; i < eh.e_phnum; i++) {                                        \
      Elf##bits##_Phdr ph;                                                             \
      off_t at = (off_t)(eh.e_phoff + (Elf##bits##_Off)i * eh.e_phentsize);            \
      if (pread(fd, &ph, sizeof ph, at) != (ssize_t)sizeof ph) return -1;              \
      if (ph.p_type == PT_INTERP) return 1;                                            \
    }                                                                                  \
    return 0;                                                                          \
  }
HAS_INTERPRETER(32)
HAS_INTERPRETER(64)

/* The same for any ELF file; -1 when FD is no ELF file at all. */
static int has_interpreter(int fd) {
  unsigned char ident[EI_NIDENT];
  if (pread(fd, ident, sizeof ident, 0) != (ssize_t)sizeof ident ||
      memcmp(ident, ELFMAG, SELFMAG) != 0)
    return -1;
  return ident[EI_CLASS] == ELFCLASS64 ? has_interpreter64(fd) : has_interpreter32(fd);
}

/* The interpreter a "#!" script names, with `env NAME` followed to NAME. */
static int script_interpreter(int fd, char *out, unsigned cap) {
  char line[256];
  ssize_t n = pread(fd, line, sizeof line - 1, 0);
  if (n < 3 || line[0] != '#' || line[1] != '!') return -1;
  line[n] = '\0';
  char *save = NULL, *first = strtok_r(line + 2, " \t\n", &save);
  if (!first) return -1;
  const char *base = strrchr(first, '/');
  if (strcmp(base ? base + 1 : first, "env") == 0) {
    char *name = strtok_r(NULL, " \t\n", &save);
    while (name && name[0] == '-') name = strtok_r(NULL, " \t\n", &save);
    return name ? find_in_path(name, out, cap) : -1;
  }
  return snprintf(out, cap, "%s", first) < (int)cap ? 0 : -1;
}

program_kind program_check(const char *program, char *which, unsigned cap) {
  if (find_in_path(program, which, cap) != 0) return PROGRAM_UNKNOWN;
  for (int depth = 0; depth < 4; depth++) {
    struct stat st;
    int fd = open(which, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
      if (fd >= 0) close(fd);
      return PROGRAM_UNKNOWN;
    }
    if (changes_ids(&st)) {
      close(fd);
      return PROGRAM_SETUID;
    }
    int interpreter = has_interpreter(fd);
    if (interpreter >= 0) {
      close(fd);
      return interpreter ? PROGRAM_PRELOADABLE : PROGRAM_STATIC;
    }
    char next[4096];
    int found = script_interpreter(fd, next, sizeof next);
    close(fd);
    if (found != 0) return PROGRAM_UNKNOWN;
    snprintf(which, cap, "%s", next);
  }
  return PROGRAM_UNKNOWN;
}
