/* Where `poolwatch run` finds libpoolwatch.so.0 to preload. */
#ifndef POOLWATCH_LIBRARY_PATH_H
#define POOLWATCH_LIBRARY_PATH_H

/* Returns the absolute path of the library (to free), or NULL after saying
 * where it looked. In order: $POOLWATCH_LIBRARY; the build tree, when this
 * command runs from it; the private library directory (LIBDIR/poolwatch)
 * beside this command's installed bin directory; the one it was installed
 * to. */
char *find_shim_library(void);

#endif
