/* The per-user live directory, opened the same safe way by the shim and `poolwatch top`. */
#include "common/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pw__live_dir_path(uid_t uid, char *out, size_t cap) {
  snprintf(out, cap, "%s/poolwatch-%u", PW__LIVE_ROOT, (unsigned)uid);
}

int pw__live_dir_open(uid_t uid, bool create, char *why, size_t cap) {
  int saved = errno;
  char path[128];
  pw__live_dir_path(uid, path, sizeof(path));
  if (create && mkdir(path, 0700) != 0 && errno != EEXIST) {
    snprintf(why, cap, "cannot create %s: %s", path, strerror(errno));
    errno = saved;
    return -1;
  }
  /* O_NOFOLLOW: a symlink planted at the name is refused, not entered. */
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
  } else if (st.st_uid != uid || (st.st_mode & 077)) {
    snprintf(why, cap, "%s belongs to another user or is open to others; not used", path);
  } else {
    errno = saved;
    return fd;
  }
  if (fd >= 0) close(fd);
  errno = saved;
  return -1;
}
