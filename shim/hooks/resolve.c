/* Finding the definition each caller would have bound to without poolwatch. */
#include "hooks/resolve.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "common/log.h"
#include "hooks/dl.h"

_Atomic unsigned long pw__unloads;

/* Opening the object by name (RTLD_NOLOAD) rather than passing its link
 * map as a handle makes the loader set up the object's own search list,
 * which a library loaded only as a dependency lacks. */
void *pw__loaded_handle(const char *loaded_name) {
  return pw__real_dlopen(loaded_name && loaded_name[0] ? loaded_name : NULL,
                         RTLD_LAZY | RTLD_NOLOAD);
}

/* NAME as the loaded object LOADED_NAME and its dependencies define it. */
static void *lookup_in(const char *loaded_name, const char *name) {
  void *handle = pw__loaded_handle(loaded_name);
  if (!handle) return NULL;
  void *fn = pw__real_dlsym(handle, name);
  pw__real_dlclose(handle);
  return fn;
}

static void *in_caller_scope(const char *name, const void *caller) {
  Dl_info info;
  struct link_map *map = NULL;
  if (!caller || !dladdr1(caller, &info, (void **)&map, RTLD_DL_LINKMAP) || !map) return NULL;
  return lookup_in(map->l_name, name);
}

/* Last resort, for a caller whose own search list lacks the name (a
 * library that relies on a sibling dependency for libpq): the first
 * loaded object that defines NAME itself. */
typedef struct any_definition {
  const char *name;
  void *fn;
} any_definition;

static int find_definition(struct dl_phdr_info *info, size_t size, void *arg) {
  any_definition *d = arg;
  if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libpoolwatch")) return 0;
  void *fn = lookup_in(info->dlpi_name, d->name);
  Dl_info where;
  if (fn && dladdr(fn, &where) && (uintptr_t)where.dli_fbase == info->dlpi_addr) {
    d->fn = fn;
    return 1;
  }
  return 0;
}

void *pw__resolve_slow(pw__real *cache, const char *name, const void *caller) {
  unsigned long generation = atomic_load(&pw__unloads);
  void *fn = pw__real_dlsym(RTLD_NEXT, name);
  if (fn) {
    atomic_store_explicit(&cache->generation, generation, memory_order_relaxed);
    atomic_store_explicit(&cache->fn, fn, memory_order_release);
    return fn;
  }
  /* Not in the global scope: the failed lookup left a message for
   * dlerror() that is poolwatch's, not the program's. */
  (void)dlerror();
  fn = in_caller_scope(name, caller);
  if (!fn) {
    any_definition d = {.name = name};
    dl_iterate_phdr(find_definition, &d);
    fn = d.fn;
  }
  (void)dlerror();
  if (!fn) pw__warn_once(name, "no loaded object defines %s; the call cannot be forwarded", name);
  return fn;
}

typedef struct range_search {
  uintptr_t address, begin, end;
  bool executable_only;
} range_search;

static int find_range(struct dl_phdr_info *info, size_t size, void *arg) {
  range_search *r = arg;
  uintptr_t low = UINTPTR_MAX, high = 0;
  bool inside = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t begin = info->dlpi_addr + ph->p_vaddr, end = begin + ph->p_memsz;
    if (r->executable_only) {
      if (!(ph->p_flags & PF_X) || r->address < begin || r->address >= end) continue;
      r->begin = begin;
      r->end = end;
      return 1;
    }
    if (begin < low) low = begin;
    if (end > high) high = end;
    if (r->address >= begin && r->address < end) inside = true;
  }
  if (!inside) return 0;
  r->begin = low;
  r->end = high;
  return 1;
}

static bool range_of(const void *address, bool executable_only, uintptr_t *begin,
                     uintptr_t *end) {
  range_search r = {.address = (uintptr_t)address, .executable_only = executable_only};
  if (!address || !dl_iterate_phdr(find_range, &r)) return false;
  *begin = r.begin;
  *end = r.end;
  return true;
}

bool pw__text_range(const void *address, uintptr_t *begin, uintptr_t *end) {
  return range_of(address, true, begin, end);
}

bool pw__object_range(const void *address, uintptr_t *begin, uintptr_t *end) {
  return range_of(address, false, begin, end);
}
