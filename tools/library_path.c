/* Finding the preload library: in the build tree, or in the installed private directory. */
#include "library_path.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "cli.h"

#define LIBRARY_NAME POOLWATCH_LIBRARY_FILE

/* Returns the canonical absolute path of PATH if it is a readable file. */
static char *usable(const char *path) {
  if (access(path, R_OK) != 0) return NULL;
  return realpath(path, NULL);
}

/* The directory holding this executable, canonical, or NULL. Found through
 * /proc/self/exe so a copy installed anywhere finds its own library. */
static char *own_directory(void) {
  char *exe = realpath("/proc/self/exe", NULL);
  if (!exe) return NULL;
  char *slash = strrchr(exe, '/');
  if (slash && slash != exe) *slash = '\0';
  return exe;
}

static char *candidate(pw__buf *tried, const char *dir, const char *relative) {
  pw__buf path;
  pw__buf_init(&path);
  pw__buf_printf(&path, "%s/%s%s" LIBRARY_NAME, dir, relative, *relative ? "/" : "");
  char *found = path.data ? usable(path.data) : NULL;
  if (!found && path.data) pw__buf_printf(tried, "\n  %s", path.data);
  pw__buf_free(&path);
  return found;
}

char *find_shim_library(void) {
  const char *forced = getenv("POOLWATCH_LIBRARY");
  if (forced && *forced) {
    char *found = usable(forced);
    if (!found) cli_error("POOLWATCH_LIBRARY=%s: %s", forced, strerror(errno));
    return found;
  }

  pw__buf tried;
  pw__buf_init(&tried);
  char *found = NULL;
  char *dir = own_directory();
#if defined(POOLWATCH_BUILD_TOOL_DIR) && defined(POOLWATCH_BUILD_LIBRARY)
  /* Run from the build tree: use the library built beside it, never an
   * older installed copy. */
  char *build_dir = realpath(POOLWATCH_BUILD_TOOL_DIR, NULL);
  if (dir && build_dir && strcmp(dir, build_dir) == 0) {
    found = usable(POOLWATCH_BUILD_LIBRARY);
    if (!found) pw__buf_printf(&tried, "\n  %s (not built yet?)", POOLWATCH_BUILD_LIBRARY);
  }
  free(build_dir);
#endif
  /* Installed: PREFIX/bin/poolwatch finds PREFIX/lib/.../poolwatch/
   * whatever prefix the tree was moved to. Debian puts libraries in
   * lib/<multiarch>. */
  static const char *const relative[] = {
    POOLWATCH_LIBDIR_FROM_BINDIR,
#ifdef POOLWATCH_MULTIARCH
    "../lib/" POOLWATCH_MULTIARCH "/poolwatch",
#endif
    "../lib/poolwatch",
  };
  for (size_t i = 0; dir && !found && i < sizeof(relative) / sizeof(relative[0]); i++)
    found = candidate(&tried, dir, relative[i]);
  if (!found) found = candidate(&tried, POOLWATCH_INSTALL_FULL_LIBDIR, "");
  if (!found)
    cli_error("cannot find " LIBRARY_NAME "; looked in:%s\nSet POOLWATCH_LIBRARY to its path.",
              tried.data ? tried.data : " (out of memory)");
  free(dir);
  pw__buf_free(&tried);
  return found;
}
