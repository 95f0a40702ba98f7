#include "hooks/resolve.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

typedef struct search {
  const char *library;
  char path[4096];
} search;

static int find_loaded(struct dl_phdr_info *info, size_t size, void *arg) {
  search *s = arg;
  const char *slash = strrchr(info->dlpi_name, '/');
  const char *base = slash ? slash + 1 : info->dlpi_name;
  if (strncmp(base, s->library, strlen(s->library)) != 0) return 0;
  snprintf(s->path, sizeof(s->path), "%s", info->dlpi_name);
  return 1;
}

void *pw__resolve(const char *name, const char *library) {
  void *fn = dlsym(RTLD_NEXT, name);
  if (fn) return fn;
  search s = {.library = library};
  if (dl_iterate_phdr(find_loaded, &s)) {
    /* RTLD_NOLOAD only takes another reference to the loaded object. */
    void *handle = dlopen(s.path, RTLD_LAZY | RTLD_NOLOAD);
    if (handle) {
      fn = dlsym(handle, name);
      dlclose(handle);
    }
  }
  if (!fn)
    pw__warn_once(name, "cannot find the real %s in this process; the call fails as if out of memory",
                  name);
  return fn;
}

typedef struct text_search {
  uintptr_t address, begin, end;
} text_search;

static int find_text(struct dl_phdr_info *info, size_t size, void *arg) {
  text_search *t = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t begin = info->dlpi_addr + ph->p_vaddr;
    if (t->address >= begin && t->address < begin + ph->p_memsz) {
      t->begin = begin;
      t->end = begin + ph->p_memsz;
      return 1;
    }
  }
  return 0;
}

bool pw__text_range(const void *address, uintptr_t *begin, uintptr_t *end) {
  text_search t = {.address = (uintptr_t)address};
  if (!address || !dl_iterate_phdr(find_text, &t)) return false;
  *begin = t.begin;
  *end = t.end;
  return true;
}
