/* Rewriting the global offset table of an object loaded with RTLD_DEEPBIND,
 * so its libpq calls reach poolwatch's hooks. */
#include "hooks/got.h"

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hooks/dl.h"
#include "hooks/libpq_copies.h"

#if defined(__x86_64__)

/* The loader rewrites most address entries of a loaded object's dynamic
 * section to run-time addresses; the vDSO's and a few others' stay
 * relative to the load base. */
static uintptr_t address_of(const struct link_map *map, ElfW(Addr) value) {
  return value < map->l_addr ? map->l_addr + value : value;
}

typedef struct relro_search {
  uintptr_t base, begin, end;
} relro_search;

/* The object's RELRO range: made read-only after relocation, so its
 * entries must be unprotected for the write. */
static int find_relro(struct dl_phdr_info *info, size_t size, void *arg) {
  relro_search *r = arg;
  if (info->dlpi_addr != r->base) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_GNU_RELRO) continue;
    r->begin = info->dlpi_addr + ph->p_vaddr;
    r->end = r->begin + ph->p_memsz;
  }
  return 1;
}

static void write_entry(void **slot, void *value, const relro_search *relro) {
  if (*slot == value) return;
  bool protected_entry = (uintptr_t)slot >= relro->begin && (uintptr_t)slot < relro->end;
  long page = sysconf(_SC_PAGESIZE);
  void *first = (void *)((uintptr_t)slot & ~(uintptr_t)(page - 1));
  if (protected_entry && mprotect(first, (size_t)page, PROT_READ | PROT_WRITE) != 0) return;
  /* One aligned store: another thread calling through the entry sees the
   * old target or the new one. */
  __atomic_store_n(slot, value, __ATOMIC_RELEASE);
  if (protected_entry) mprotect(first, (size_t)page, PROT_READ);
}

typedef struct tables {
  const ElfW(Sym) *symbols;
  const char *strings;
  const ElfW(Rela) *relocations[2];
  size_t sizes[2];
} tables;

static void redirect(void *handle, const struct link_map *map, const tables *t,
                     const relro_search *relro) {
  for (int table = 0; table < 2; table++) {
    size_t count = t->sizes[table] / sizeof(ElfW(Rela));
    for (size_t i = 0; i < count; i++) {
      const ElfW(Rela) *r = &t->relocations[table][i];
      unsigned long type = ELF64_R_TYPE(r->r_info);
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
      const char *name = t->strings + t->symbols[ELF64_R_SYM(r->r_info)].st_name;
      if (!pw__libpq_is_hooked_name(name)) continue;
      /* What the object binds to: its own scope first. Nothing there
       * means the global scope, where poolwatch's hook already is. */
      void *target = pw__real_dlsym(handle, name);
      if (!target) continue;
      void *hook = pw__libpq_hook_for(target, name);
      if (hook != target) write_entry((void **)(map->l_addr + r->r_offset), hook, relro);
    }
  }
}

void pw__got_redirect_deepbind(void *handle) {
  struct link_map *map = NULL;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_ld) {
    (void)dlerror();
    return;
  }
  tables t = {0};
  for (const ElfW(Dyn) *d = map->l_ld; d->d_tag != DT_NULL; d++) {
    switch (d->d_tag) {
      case DT_SYMTAB: t.symbols = (const ElfW(Sym) *)address_of(map, d->d_un.d_ptr); break;
      case DT_STRTAB: t.strings = (const char *)address_of(map, d->d_un.d_ptr); break;
      case DT_JMPREL: t.relocations[0] = (const ElfW(Rela) *)address_of(map, d->d_un.d_ptr); break;
      case DT_PLTRELSZ: t.sizes[0] = d->d_un.d_val; break;
      case DT_RELA: t.relocations[1] = (const ElfW(Rela) *)address_of(map, d->d_un.d_ptr); break;
      case DT_RELASZ: t.sizes[1] = d->d_un.d_val; break;
    }
  }
  if (!t.symbols || !t.strings) return;
  for (int i = 0; i < 2; i++)
    if (!t.relocations[i]) t.sizes[i] = 0;
  relro_search relro = {.base = map->l_addr};
  dl_iterate_phdr(find_relro, &relro);
  redirect(handle, map, &t, &relro);
  (void)dlerror(); /* poolwatch's own lookups; the program's dlopen succeeded */
}

#else

/* Other architectures: objects loaded with RTLD_DEEPBIND stay untracked
 * (README, Limitations). */
void pw__got_redirect_deepbind(void *handle) { (void)handle; }

#endif
