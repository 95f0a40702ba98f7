/* The dynamic loader's entry points, wrapped so that callers who bypass
 * symbol interposition still reach poolwatch's libpq hooks. */
#ifndef POOLWATCH_DL_H
#define POOLWATCH_DL_H

/* The loader's own functions, for poolwatch's internal use: poolwatch's
 * wrappers would count its own lookups and unloads. */
void *pw__real_dlopen(const char *file, int mode);
int pw__real_dlclose(void *handle);
void *pw__real_dlsym(void *handle, const char *name);

#endif
