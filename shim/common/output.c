#include "common/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

bool pw__output_dir_ready(const char *dir) {
  char path[4096];
  if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) return false;
  for (char *p = path + 1;; p++) {
    if (*p == '/' || !*p) {
      char saved = *p;
      *p = '\0';
      if (mkdir(path, 0700) != 0 && errno != EEXIST) return false;
      *p = saved;
      if (!saved) break;
    }
  }
  struct stat st;
  return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool write_whole(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

bool pw__write_file(const char *dir, const char *name, const char *data, size_t len) {
  return pw__write_file_mode(dir, name, data, len, 0600);
}

bool pw__write_file_mode(const char *dir, const char *name, const char *data, size_t len,
                         mode_t mode) {
  int saved = errno;
  bool ok = false;
  int dirfd = -1, fd = -1;
  char temp[320];
  /* The temporary name is the process's own: forked workers that shared
   * one for one Prometheus path truncated each other's file mid-write
   * (2,273 of 92,166 reads saw it empty or cut short). */
  snprintf(temp, sizeof(temp), ".%s.%d.tmp", name, (int)getpid());
  if (!pw__output_dir_ready(dir) ||
      (dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    pw__warn_once("POOLWATCH_OUTPUT_DIR",
                  "POOLWATCH_OUTPUT_DIR='%s' cannot be created or opened (%s); writing no files",
                  dir, strerror(errno));
    goto done;
  }
  /* O_EXCL|O_NOFOLLOW: a link planted at the temporary name is never
   * followed; rename() then replaces whatever sits at the final name,
   * symlink included, without following it. */
  unlinkat(dirfd, temp, 0);
  fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  /* The mode is set explicitly: a umask of 077 must not hide a Prometheus
   * file from node_exporter's user. */
  if (fd < 0 || fchmod(fd, mode) != 0 || !write_whole(fd, data, len) || fsync(fd) != 0) {
    pw__warn_once("output-write", "cannot write %s/%s (%s); the report is incomplete", dir, name,
                  strerror(errno));
    if (fd >= 0) unlinkat(dirfd, temp, 0);
    goto done;
  }
  if (renameat(dirfd, temp, dirfd, name) != 0) {
    pw__warn_once("output-rename", "cannot rename %s/%s into place (%s)", dir, name,
                  strerror(errno));
    unlinkat(dirfd, temp, 0);
    goto done;
  }
  ok = true;
done:
  if (fd >= 0) close(fd);
  if (dirfd >= 0) close(dirfd);
  errno = saved;
  return ok;
}
