/* Finding the reports in a directory: poolwatch-PID.json and the
 * poolwatch-PID.N.json of the images that followed an exec, by pid. */
#include "report_load.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

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
