/* The table of interned source frames, and the list of language walkers. */
#include "core/source_frames.h"

#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/always_touched.h"
#include "common/at_fork.h"
#include "common/spinlock.h"

/* Records sit in chunks that never move, so a report can read one by id
 * while other threads intern more: an id is only handed out after its
 * record is complete (published by the release store of the count). */
#define CHUNK_RECORDS 1024
#define MAX_CHUNKS 1024
#define BUCKETS 4096

typedef struct record {
  pw__source_frame frame; /* strings point into TEXT */
  bool hidden;            /* in a file under a hidden prefix */
  uint64_t hash;
  uint32_t next;          /* id of the next record in the bucket, 0 ends */
  char *text;
} record;

static record *chunks[MAX_CHUNKS];
static uint32_t buckets[BUCKETS];
static _Atomic uint32_t count;
static pw__spinlock lock = PW__SPINLOCK_INIT;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* Directories of poolwatch's own language code (its Python package, ...),
 * whose frames are not the program's. Set once each, at start-up. */
#define MAX_HIDDEN 8
static char *hidden_prefixes[MAX_HIDDEN];
static _Atomic int hidden_count;

/* The code of the shared objects under those directories (a Python
 * extension module), as address ranges. */
#define MAX_HIDDEN_RANGES 16
typedef struct range {
  uintptr_t begin, end;
} range;
static range hidden_ranges[MAX_HIDDEN_RANGES];
static _Atomic int hidden_range_count;

typedef struct object_search {
  const char *prefix;
  range found[MAX_HIDDEN_RANGES];
  int count;
} object_search;

static int note_object(struct dl_phdr_info *info, size_t size, void *arg) {
  object_search *s = arg;
  if (!info->dlpi_name || strncmp(info->dlpi_name, s->prefix, strlen(s->prefix)) != 0) return 0;
  for (int i = 0; i < info->dlpi_phnum && s->count < MAX_HIDDEN_RANGES; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      uintptr_t begin = info->dlpi_addr + ph->p_vaddr;
      s->found[s->count++] = (range){begin, begin + ph->p_memsz};
    }
  }
  return 0;
}

static bool prefix_known(const char *prefix, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(hidden_prefixes[i], prefix) == 0) return true;
  return false;
}

static bool range_known(range r, int n) {
  for (int i = 0; i < n; i++)
    if (hidden_ranges[i].begin == r.begin) return true;
  return false;
}

void pw__source_hide(const char *prefix) {
  if (!prefix || !*prefix) return;
  /* The loader's lock is taken outside ours: a thread holding the
   * loader's (a constructor connecting) may capture, and take ours. */
  object_search search = {.prefix = prefix};
  dl_iterate_phdr(note_object, &search);
  pw__spin_lock(&lock);
  int n = atomic_load_explicit(&hidden_count, memory_order_relaxed);
  char *copy = n < MAX_HIDDEN && !prefix_known(prefix, n) ? strdup(prefix) : NULL;
  if (copy) {
    hidden_prefixes[n] = copy;
    atomic_store_explicit(&hidden_count, n + 1, memory_order_release);
  }
  int r = atomic_load_explicit(&hidden_range_count, memory_order_relaxed);
  for (int i = 0; i < search.count && r < MAX_HIDDEN_RANGES; i++)
    if (!range_known(search.found[i], r)) {
      hidden_ranges[r++] = search.found[i];
      atomic_store_explicit(&hidden_range_count, r, memory_order_release);
    }
  pw__spin_unlock(&lock);
}

static bool in_hidden_object(uintptr_t address) {
  int n = atomic_load_explicit(&hidden_range_count, memory_order_acquire);
  for (int i = 0; i < n; i++)
    if (address - 1 >= hidden_ranges[i].begin && address - 1 < hidden_ranges[i].end) return true;
  return false;
}

static bool under_hidden_prefix(const char *file) {
  int n = atomic_load_explicit(&hidden_count, memory_order_acquire);
  for (int i = 0; file && i < n; i++)
    if (strncmp(file, hidden_prefixes[i], strlen(hidden_prefixes[i])) == 0) return true;
  return false;
}

static record *record_of(uint32_t id) {
  return &chunks[(id - 1) / CHUNK_RECORDS][(id - 1) % CHUNK_RECORDS];
}

static uint64_t hash_text(uint64_t h, const char *text) {
  for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++)
    h = (h ^ *p) * 0x100000001b3ull;
  return (h ^ 0xff) * 0x100000001b3ull; /* ends the field: "ab","c" is not "a","bc" */
}

static uint64_t hash_frame(const pw__source_frame *f) {
  uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(unsigned)f->line;
  h = hash_text(h, f->language);
  h = hash_text(h, f->function);
  h = hash_text(h, f->file);
  return hash_text(h, f->module);
}

static bool same_text(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_frame(const pw__source_frame *a, const pw__source_frame *b) {
  return a->line == b->line && same_text(a->language, b->language) &&
         same_text(a->function, b->function) && same_text(a->file, b->file) &&
         same_text(a->module, b->module);
}

/* Copies the four strings of FROM into one block; TO points into it. */
static char *copy_strings(const pw__source_frame *from, pw__source_frame *to) {
  const char *in[4] = {from->language, from->function, from->file, from->module};
  size_t size = 0;
  for (int i = 0; i < 4; i++) size += in[i] ? strlen(in[i]) + 1 : 0;
  char *text = malloc(size ? size : 1), *at = text;
  if (!text) return NULL;
  const char *out[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < 4; i++) {
    if (!in[i]) continue;
    size_t n = strlen(in[i]) + 1;
    memcpy(at, in[i], n);
    out[i] = at;
    at += n;
  }
  *to = (pw__source_frame){out[0], out[1], out[2], from->line, out[3]};
  return text;
}

/* A child forked while another thread held the lock would wait forever. */
static void lock_for_fork(void) { pw__spin_lock(&lock); }
static void unlock_after_fork(void) { pw__spin_unlock(&lock); }
static void reset_in_child(void) { pw__spin_reset(&lock); }
static void register_fork_handlers(void) {
  pw__at_fork(lock_for_fork, unlock_after_fork, reset_in_child);
}

uintptr_t pw__source_frame_intern(const pw__source_frame *frame) {
  pthread_once(&fork_once, register_fork_handlers);
  uint64_t hash = hash_frame(frame);
  uint32_t *bucket = &buckets[hash % BUCKETS];
  uint32_t id = 0;
  pw__spin_lock(&lock);
  for (uint32_t at = *bucket; at && !id; at = record_of(at)->next)
    if (record_of(at)->hash == hash && same_frame(&record_of(at)->frame, frame)) id = at;
  uint32_t next = atomic_load_explicit(&count, memory_order_relaxed) + 1;
  if (!id && next <= (uint32_t)CHUNK_RECORDS * MAX_CHUNKS) {
    record **chunk = &chunks[(next - 1) / CHUNK_RECORDS];
    if (!*chunk) *chunk = calloc(CHUNK_RECORDS, sizeof(record));
    if (*chunk) {
      record *r = record_of(next);
      if ((r->text = copy_strings(frame, &r->frame))) {
        r->hidden = under_hidden_prefix(frame->file);
        r->hash = hash;
        r->next = *bucket;
        *bucket = next;
        atomic_store_explicit(&count, next, memory_order_release);
        id = next;
      }
    }
  }
  pw__spin_unlock(&lock);
  return id ? PW__SOURCE_FRAME_TAG | id : 0;
}

bool pw__source_frame_hidden(uintptr_t word) {
  if (!pw__is_source_frame(word)) return in_hidden_object(word);
  uint32_t id = (uint32_t)(word & ~PW__SOURCE_FRAME_TAG);
  return id && id <= atomic_load_explicit(&count, memory_order_acquire) && record_of(id)->hidden;
}

const pw__source_frame *pw__source_frame_lookup(uintptr_t word) {
  if (!pw__is_source_frame(word)) return NULL;
  uintptr_t id = word & ~PW__SOURCE_FRAME_TAG;
  if (id == 0 || id > atomic_load_explicit(&count, memory_order_acquire)) return NULL;
  return &record_of((uint32_t)id)->frame;
}

uint32_t pw__source_frame_count(void) { return atomic_load_explicit(&count, memory_order_acquire); }

/* ---- walkers ---------------------------------------------------------- */

/* The languages' constructors register their walkers at load. */
#define MAX_WALKERS 8
static const pw__source_walker *_Atomic walkers[MAX_WALKERS] PW__ALWAYS_TOUCHED;
static _Atomic int walker_count PW__ALWAYS_TOUCHED;

_Atomic int pw__source_walkers_armed PW__ALWAYS_TOUCHED;

PW__RUN_AT_LOAD void pw__source_walker_register(const pw__source_walker *walker) {
  int i = atomic_fetch_add(&walker_count, 1);
  if (i >= MAX_WALKERS) return;
  atomic_store_explicit(&walkers[i], walker, memory_order_release);
  atomic_fetch_add(&pw__source_walkers_armed, 1);
}

void pw__source_walker_disarm(void) { atomic_fetch_sub(&pw__source_walkers_armed, 1); }

const pw__source_walker *pw__source_walker_find(void) {
  int n = atomic_load_explicit(&walker_count, memory_order_relaxed);
  for (int i = 0; i < n && i < MAX_WALKERS; i++) {
    const pw__source_walker *w = atomic_load_explicit(&walkers[i], memory_order_acquire);
    if (w && w->active()) return w;
  }
  return NULL;
}
