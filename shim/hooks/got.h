/* Redirecting the libpq calls of an object loaded with RTLD_DEEPBIND. */
#ifndef POOLWATCH_GOT_H
#define POOLWATCH_GOT_H

/* An object loaded with RTLD_DEEPBIND looks symbols up in its own scope
 * before the global one, so its calls to libpq never meet poolwatch's
 * preloaded definitions (PHP loads its pgsql and pdo_pgsql extensions
 * so). Rewrites the object's global offset table entries for the libpq
 * functions poolwatch hooks to point at the hooks of the copy they bind
 * to, as heaptrack's inject mode does. HANDLE is what dlopen returned; the
 * caller holds that reference, so the object stays loaded meanwhile. */
void pw__got_redirect_deepbind(void *handle);

#endif
