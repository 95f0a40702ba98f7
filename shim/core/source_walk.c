/* The parts of a language walker that do not depend on the language. */
#include "core/source_walk.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/source_frames.h"
#include "core/stack_cache.h"

/* ---- the interpreter's code ---------------------------------------------- */

typedef struct segment_search {
  uintptr_t address, begin, end;
} segment_search;

static int find_segment(struct dl_phdr_info *info, size_t size, void *arg) {
  segment_search *s = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t begin = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && s->address >= begin &&
        s->address < begin + ph->p_memsz) {
      s->begin = begin;
      s->end = begin + ph->p_memsz;
      return 1;
    }
  }
  return 0;
}

bool pw__interpreter_code_find(void *symbol, bool eval, pw__interpreter_code *code) {
  Dl_info info;
  const ElfW(Sym) *entry = NULL;
  struct link_map *map = NULL;
  if (!symbol || !dladdr1(symbol, &info, (void **)&entry, RTLD_DL_SYMENT) || !entry ||
      !dladdr1(symbol, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
    return false;
  code->eval_begin = code->eval_end = 0;
  if (eval) {
    if (!entry->st_size) return false;
    code->eval_begin = (uintptr_t)symbol;
    code->eval_end = code->eval_begin + entry->st_size;
  }
  segment_search s = {.address = (uintptr_t)symbol};
  if (!dl_iterate_phdr(find_segment, &s)) return false;
  code->text_begin = s.begin;
  code->text_end = s.end;
  pw__source_object_path(map->l_name, "interpreter", code->path, sizeof(code->path));
  return true;
}

bool pw__interpreter_search(_Atomic int *state, bool (*find)(void)) {
  int expected = PW__INTERPRETER_UNKNOWN;
  if (!atomic_compare_exchange_strong(state, &expected, PW__INTERPRETER_LOOKING)) return false;
  bool found = find();
  atomic_store_explicit(state, found ? PW__INTERPRETER_FOUND : PW__INTERPRETER_ABSENT,
                        memory_order_release);
  if (!found) pw__source_walker_disarm();
  return found;
}

/* ---- the per-thread cache ------------------------------------------------ */

#define CACHE_SLOTS 256

typedef struct cached_position {
  pw__source_key key;
  uintptr_t word;
} cached_position;

/* Allocated on the thread's first source frame, freed when it exits; a
 * thread-exit destructor that captures after that starts a new one. */
static __thread cached_position *cache __attribute__((tls_model("initial-exec")));

static void forget_cache(void) { cache = NULL; }

static cached_position *slot_of(const pw__source_key *key) {
  if (!cache && !(cache = pw__cache_calloc(CACHE_SLOTS, sizeof(*cache), forget_cache)))
    return NULL;
  uint64_t h = key->words[0] ^ ((uint64_t)key->words[1] << 17);
  h *= 0x9E3779B97F4A7C15ull;
  return &cache[(h >> 40) % CACHE_SLOTS];
}

uintptr_t pw__source_cache_find(const pw__source_key *key) {
  cached_position *c = slot_of(key);
  return c && c->word && memcmp(&c->key, key, sizeof(*key)) == 0 ? c->word : 0;
}

void pw__source_cache_store(const pw__source_key *key, uintptr_t word) {
  cached_position *c = slot_of(key);
  if (c) *c = (cached_position){*key, word};
}

/* ---- modules ------------------------------------------------------------- */

void pw__source_module(const char *file, const char *const *roots, size_t root_count,
                       const char *interpreter, char *out, size_t size) {
  for (size_t r = 0; r < root_count; r++) {
    const char *root = strstr(file, roots[r]);
    if (!root) continue;
    const char *top = root + strlen(roots[r]);
    size_t n = (size_t)(top - file) + strcspn(top, "/");
    if (n >= size) n = size - 1;
    memcpy(out, file, n);
    out[n] = '\0';
    return;
  }
  snprintf(out, size, "%s", interpreter);
}

void pw__source_object_path(const char *object_name, const char *fallback, char *out,
                            size_t size) {
  if (object_name && *object_name) {
    snprintf(out, size, "%s", object_name);
    return;
  }
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  out[n > 0 ? n : 0] = '\0';
  if (n <= 0) snprintf(out, size, "%s", fallback);
}

/* ---- merging ------------------------------------------------------------- */

static bool within(uintptr_t pc, uintptr_t begin, uintptr_t end) { return pc >= begin && pc < end; }

int pw__source_merge(const pw__interpreter_code *code, const pw__source_stack *stack,
                     const uintptr_t *native, int n, uintptr_t *out, int cap) {
  /* Without runs, the outermost interpreter frame bounds the native frames
   * that are left out. */
  int last = -1;
  if (!stack->by_run)
    for (int i = 0; i < n; i++)
      if (within(native[i] - 1, code->text_begin, code->text_end)) last = i;
  int written = 0, next = 0, run = 0;
  bool placed = false;
  for (int i = 0; i < n && written < cap; i++) {
    uintptr_t pc = native[i] - 1; /* inside the call */
    bool interpreter = within(pc, code->text_begin, code->text_end);
    if (stack->by_run && within(pc, code->eval_begin, code->eval_end)) {
      int end = run < stack->runs ? stack->run_end[run++] : next;
      while (next < end && written < cap) out[written++] = stack->words[next++];
      continue;
    }
    /* The interpreter's own frames (calls, dispatch, main) say nothing a
     * programmer of the language can act on once its frames are shown. */
    if (interpreter) {
      if (!stack->by_run && !placed) {
        while (next < stack->count && written < cap) out[written++] = stack->words[next++];
        placed = true;
      }
      continue;
    }
    if (placed && i < last) continue;
    out[written++] = native[i];
  }
  /* The native unwind stops at the configured depth; the callers beyond it
   * are still worth showing, outermost last. */
  while (next < stack->count && written < cap) out[written++] = stack->words[next++];
  return written;
}
