/* The table of libpq copies in the process and their real functions. */
#include "hooks/libpq_copies.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "common/log.h"
#include "hooks/dl.h"
#include "hooks/resolve.h"

pw__libpq pw__libpq_copies[PW__LIBPQ_MAX_COPIES];
static _Atomic int copy_count;
static pthread_mutex_t adding = PTHREAD_MUTEX_INITIALIZER;

static const char *const hooked_names[] = {
#define PW__NAME(name, ...) #name,
    PW__LIBPQ_HOOKS(PW__NAME)
#undef PW__NAME
};

static int hook_index(const char *name) {
  if (name[0] != 'P' || name[1] != 'Q') return -1;
  for (int i = 0; i < PW__LIBPQ_HOOK_COUNT; i++)
    if (strcmp(hooked_names[i], name) == 0) return i;
  return -1;
}

bool pw__libpq_is_hooked_name(const char *name) { return name && hook_index(name) >= 0; }

/* Looks NAME up in the object at [BEGIN, END) whose handle is HANDLE; only
 * a definition inside that object counts. */
static void *own_definition(void *handle, const char *name, uintptr_t begin, uintptr_t end) {
  void *fn = pw__real_dlsym(handle, name);
  return (uintptr_t)fn >= begin && (uintptr_t)fn < end ? fn : NULL;
}

/* Fills COPY from the object holding FN, if that object is a libpq: it
 * defines the connection API (PQconnectStart and PQfinish) itself. */
static bool fill(pw__libpq *copy, const void *fn) {
  Dl_info info;
  struct link_map *map = NULL;
  uintptr_t begin, end;
  if (!dladdr1(fn, &info, (void **)&map, RTLD_DL_LINKMAP) || !map ||
      !pw__object_range(fn, &begin, &end))
    return false;
  uintptr_t self_begin, self_end;
  if (pw__object_range((const void *)&fill, &self_begin, &self_end) && begin == self_begin)
    return false; /* poolwatch's own hooks */
  void *handle = pw__loaded_handle(map->l_name);
  if (!handle) return false;
  bool is_libpq = own_definition(handle, "PQconnectStart", begin, end) &&
                  own_definition(handle, "PQfinish", begin, end);
  if (is_libpq) {
    copy->begin = begin;
    copy->end = end;
#define PW__FILL(name, ...) copy->name = (__typeof__(name) *)pw__real_dlsym(handle, #name);
    PW__LIBPQ_HOOKS(PW__FILL)
    PW__LIBPQ_HELPERS(PW__FILL)
#undef PW__FILL
  }
  pw__real_dlclose(handle);
  (void)dlerror(); /* a function the copy lacks is poolwatch's concern only */
  return is_libpq;
}

/* Whether COPY's object is still where it was: a program that loads and
 * unloads modules in a loop may see libpq come back elsewhere each time,
 * and the slot of a copy that is gone can be taken by the next. */
static bool still_loaded(const pw__libpq *copy) {
  uintptr_t begin, end;
  return pw__object_range((const void *)copy->begin, &begin, &end) && begin == copy->begin &&
         end == copy->end;
}

const pw__libpq *pw__libpq_copy_find(const void *fn) {
  if (!fn) return NULL;
  unsigned long generation = atomic_load_explicit(&pw__unloads, memory_order_relaxed);
  int count = atomic_load_explicit(&copy_count, memory_order_acquire);
  for (int i = 0; i < count; i++)
    if (pw__libpq_copy_holds(&pw__libpq_copies[i], fn)) return &pw__libpq_copies[i];

  /* New, or something was unloaded since: look at the object again,
   * outside the lock (the loader takes its own lock, and a library's
   * constructor may connect while holding it). A slot whose object was
   * unloaded and another put in its place is refilled; a call still in
   * flight through it would be a call into an unloaded library, which no
   * correct program makes. */
  pw__libpq fresh;
  if (!fill(&fresh, fn)) return NULL;
  pthread_mutex_lock(&adding);
  pw__libpq *slot = NULL;
  count = atomic_load(&copy_count);
  for (int i = 0; i < count && !slot; i++)
    if (pw__libpq_copies[i].begin == fresh.begin) slot = &pw__libpq_copies[i];
  bool added = !slot && count < PW__LIBPQ_MAX_COPIES;
  if (added) slot = &pw__libpq_copies[count];
  for (int i = 0; i < count && !slot; i++)
    if (!still_loaded(&pw__libpq_copies[i])) slot = &pw__libpq_copies[i];
  if (slot) {
    slot->begin = fresh.begin;
    slot->end = fresh.end;
#define PW__COPY(name, ...) slot->name = fresh.name;
    PW__LIBPQ_HOOKS(PW__COPY)
    PW__LIBPQ_HELPERS(PW__COPY)
#undef PW__COPY
    atomic_store(&slot->generation, generation);
    if (added) atomic_store_explicit(&copy_count, count + 1, memory_order_release);
  }
  pthread_mutex_unlock(&adding);
  if (!slot)
    pw__warn_once("libpq-copies", "more than %d copies of libpq are loaded; connections that "
                  "the others make through dlsym are not tracked", PW__LIBPQ_MAX_COPIES);
  return slot;
}

void *pw__libpq_hook_for(void *fn, const char *name) {
  int index = hook_index(name);
  if (index < 0) return fn;
  const pw__libpq *copy = pw__libpq_copy_of(fn);
  return copy ? pw__libpq_copy_hooks[copy - pw__libpq_copies][index] : fn;
}
