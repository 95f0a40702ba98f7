/* Creating poolwatch's directories and writing its files whole. */
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
  if (stat(dir, &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) errno = ENOTDIR;
  return S_ISDIR(st.st_mode);
}

bool pw__write_file(const char *dir, const char *name, const char *data, size_t len) {
  return pw__write_file_as(dir, name, data, len, true, 0600) == 1;
}

int pw__write_file_as(const char *dir, const char *name, const char *data, size_t len,
                      bool replace, mode_t mode) {
  int saved = errno;
  int dirfd = -1;
  if (!pw__output_dir_ready(dir) ||
      (dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    pw__warn_once("POOLWATCH_OUTPUT_DIR",
                  "POOLWATCH_OUTPUT_DIR='%s' cannot be created or opened (%s); writing no files",
                  dir, strerror(errno));
    errno = saved;
    return -1;
  }
  int result = pw__write_file_at(dirfd, dir, name, data, len, replace, mode);
  close(dirfd);
  errno = saved;
  return result;
}

int pw__write_file_at(int dirfd, const char *dir, const char *name, const char *data, size_t len,
                      bool replace, mode_t mode) {
  int saved = errno;
  int result = -1;
  int fd = -1;
  char temp[320];
  /* The temporary name is the process's own: forked workers that shared
   * one for one Prometheus path truncated each other's file mid-write
   * (2,273 of 92,166 reads saw it empty or cut short). */
  snprintf(temp, sizeof(temp), ".%s.%d.tmp", name, (int)getpid());
  /* O_EXCL|O_NOFOLLOW: a link planted at the temporary name is never
   * followed; rename() then replaces whatever sits at the final name,
   * symlink included, without following it. */
  unlinkat(dirfd, temp, 0);
  fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  /* The mode is set explicitly: a umask of 077 must not hide a Prometheus
   * file from node_exporter's user. */
  if (fd < 0 || fchmod(fd, mode) != 0 || !pw__write_all(fd, data, len) || fsync(fd) != 0) {
    pw__warn_once("output-write", "cannot write %s/%s (%s); the report is incomplete", dir, name,
                  strerror(errno));
    if (fd >= 0) unlinkat(dirfd, temp, 0);
    goto done;
  }
  if (!replace) {
    /* link() never replaces: the name is claimed whole, or found taken. */
    int linked = linkat(dirfd, temp, dirfd, name, 0);
    int link_errno = errno;
    unlinkat(dirfd, temp, 0);
    if (linked == 0) result = 1;
    else if (link_errno == EEXIST) result = 0;
    else
      pw__warn_once("output-rename", "cannot link %s/%s into place (%s)", dir, name,
                    strerror(link_errno));
    goto done;
  }
  if (renameat(dirfd, temp, dirfd, name) != 0) {
    pw__warn_once("output-rename", "cannot rename %s/%s into place (%s)", dir, name,
                  strerror(errno));
    unlinkat(dirfd, temp, 0);
    goto done;
  }
  result = 1;
done:
  if (fd >= 0) close(fd);
  errno = saved;
  return result;
}
