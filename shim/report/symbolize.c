/* Turning return addresses into function, file:line and module+offset. */
#include "report/symbolize.h"

#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/table.h"
#include "core/source_frames.h"
#include "report/libdw_loader.h"

/* Strings handed out are copied into a list freed with the symbolizer,
 * since libdw's own strings die with its session. */
typedef struct string_node {
  struct string_node *next;
  char text[];
} string_node;

/* Stacks share most of their frames: each address is looked up once. */
typedef struct cached_address {
  uintptr_t pc;
  pw__frame *frames; /* the address's frame, after its inlined ones */
  size_t count;
  UT_hash_handle hh;
} cached_address;

struct pw__symbolizer {
  const pw__libdw *dw;
  Dwfl *dwfl;
  Dwfl_Callbacks callbacks;
  string_node *strings;
  cached_address *cache;
  char exe[4096];
};

/* The C++ runtime's demangler, when the program has one: a C++ program
 * links libstdc++, and the shim itself never does (it would load the C++
 * runtime into every C program). */
typedef char *(*demangler)(const char *mangled, char *out, size_t *length, int *status);

static const char *keep(pw__symbolizer *s, const char *text);

/* Names FRAME's language from its function's name, demangling a C++ one:
 * a libpqxx leak otherwise reads _ZN4pqxx15connection_base4initEv, and a
 * suppression written as pqxx::connection_base::init matches nothing.
 * Without a demangler the name stays mangled, still marked C++. */
static void name_language(pw__symbolizer *s, pw__frame *f) {
  f->language = "c";
  if (!f->function || strncmp(f->function, "_Z", 2) != 0) return;
  f->language = "c++";
  demangler demangle = (demangler)dlsym(RTLD_DEFAULT, "__cxa_demangle");
  int status = -1;
  char *plain = demangle && s ? demangle(f->function, NULL, NULL, &status) : NULL;
  if (plain && status == 0) f->function = keep(s, plain);
  free(plain);
}

static const char *keep(pw__symbolizer *s, const char *text) {
  if (!text) return NULL;
  size_t n = strlen(text);
  string_node *node = malloc(sizeof(*node) + n + 1);
  if (!node) return NULL;
  memcpy(node->text, text, n + 1);
  node->next = s->strings;
  s->strings = node;
  return node->text;
}

pw__symbolizer *pw__symbolizer_new(void) {
  pw__symbolizer *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  ssize_t n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
  s->exe[n > 0 ? n : 0] = '\0';
  const pw__libdw *dw = s->dw = pw__libdw_load();
  if (!dw) return s;
  /* Separate debug info is looked up locally, by build ID (where Debian's
   * -dbgsym packages put it). elfutils' standard lookup goes on to its
   * debuginfod client for every module it finds none for, and that client
   * starts libcurl, libssh2 and OpenSSL inside the program: at exit, after
   * OpenSSL's own cleanup had run, that crashed a Ruby program. Only a
   * user who set DEBUGINFOD_URLS asked for that lookup. */
  const char *urls = secure_getenv("DEBUGINFOD_URLS");
  s->callbacks = (Dwfl_Callbacks){
    .find_elf = dw->dwfl_linux_proc_find_elf,
    .find_debuginfo = urls && *urls ? dw->dwfl_standard_find_debuginfo
                                    : dw->dwfl_build_id_find_debuginfo,
  };
  s->dwfl = dw->dwfl_begin(&s->callbacks);
  if (s->dwfl && (dw->dwfl_linux_proc_report(s->dwfl, getpid()) != 0 ||
                  dw->dwfl_report_end(s->dwfl, NULL, NULL) != 0)) {
    dw->dwfl_end(s->dwfl);
    s->dwfl = NULL;
  }
  return s;
}

/* The name of a subprogram or inlined subroutine DIE; an inlined one
 * carries it on its abstract origin. */
static const char *die_name(const pw__libdw *dw, Dwarf_Die *die) {
  Dwarf_Attribute attr;
  if (dw->dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
      dw->dwarf_attr_integrate(die, DW_AT_name, &attr))
    return dw->dwarf_formstring(&attr);
  return NULL;
}

/* Where an inlined subroutine was called from: its DW_AT_call_file (an
 * index into the unit's file table) and DW_AT_call_line. */
static void call_site(const pw__libdw *dw, Dwarf_Die *cu, Dwarf_Die *inlined, const char **file,
                      int *line) {
  Dwarf_Attribute attr;
  Dwarf_Word index, number;
  Dwarf_Files *files;
  size_t count;
  *file = NULL;
  *line = 0;
  if (dw->dwarf_formudata(dw->dwarf_attr(inlined, DW_AT_call_line, &attr), &number) == 0)
    *line = (int)number;
  if (dw->dwarf_formudata(dw->dwarf_attr(inlined, DW_AT_call_file, &attr), &index) == 0 &&
      dw->dwarf_getsrcfiles(cu, &files, &count) == 0 && index < count)
    *file = dw->dwarf_filesrc(files, index, NULL, NULL);
}

/* At most this many functions inlined into one another at one address. */
#define PW__MAX_INLINED 15

/* Expands the functions inlined at PC, innermost first, into OUT (at most
 * CAP), each frame a copy of BASE with its own function, file and line.
 * Returns 0 when debug info has no inlining to show at PC. */
static size_t inlined_frames(pw__symbolizer *s, Dwfl_Module *mod, uintptr_t pc,
                             const pw__frame *base, pw__frame *out, size_t cap) {
  const pw__libdw *dw = s->dw;
  Dwarf_Addr bias;
  Dwarf_Die *cu = dw->dwfl_module_addrdie(mod, pc, &bias);
  Dwarf_Die *scopes = NULL;
  int n = cu ? dw->dwarf_getscopes(cu, pc - bias, &scopes) : 0;
  /* dwarf_getscopes continues from an inlined subroutine into its
   * abstract definition; the chain of concrete callers comes from the
   * innermost DIE itself. */
  if (n > 0) {
    Dwarf_Die innermost = scopes[0];
    free(scopes);
    scopes = NULL;
    n = dw->dwarf_getscopes_die(&innermost, &scopes);
  }
  size_t written = 0;
  const char *file = base->file;
  int line = base->line;
  for (int i = 0; i < n && written < cap; i++) {
    int tag = dw->dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
    pw__frame *f = &out[written++];
    *f = *base;
    f->file = keep(s, file);
    f->line = line;
    if (tag == DW_TAG_subprogram) break; /* BASE's symbol table name stays */
    f->function = keep(s, die_name(dw, &scopes[i]));
    call_site(dw, cu, &scopes[i], &file, &line);
  }
  free(scopes);
  /* Without an inlined subroutine, the plain frame says it all. */
  return written > 1 ? written : 0;
}

/* Looks PC up: its frame, preceded by the frames of functions inlined at
 * that point. Writes at most CAP frames to OUT; returns how many. */
static size_t lookup(pw__symbolizer *s, uintptr_t pc, pw__frame *out, size_t cap) {
  pw__frame *f = &out[0];
  memset(f, 0, sizeof(*f));
  /* Module and offset come from the dynamic linker, so they are right
   * even when libdw cannot read the file. */
  Dl_info info;
  struct link_map *map = NULL;
  if (dladdr1((void *)pc, &info, (void **)&map, RTLD_DL_LINKMAP) && map) {
    const char *name = map->l_name && *map->l_name ? map->l_name : (s ? s->exe : "");
    f->module = s ? keep(s, name) : NULL;
    f->offset = pc - map->l_addr;
    if (s && info.dli_sname) f->function = keep(s, info.dli_sname);
  }
  if (!s || !s->dwfl) return 1;
  const pw__libdw *dw = s->dw;
  Dwfl_Module *mod = dw->dwfl_addrmodule(s->dwfl, pc);
  if (!mod) return 1;
  const char *name = dw->dwfl_module_addrname(mod, pc);
  if (name) f->function = keep(s, name);
  Dwfl_Line *line = dw->dwfl_module_getsrc(mod, pc);
  if (line) {
    int lineno = 0;
    const char *file = dw->dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
    if (file) {
      f->file = keep(s, file);
      f->line = lineno;
    }
  }
  pw__frame base = *f;
  size_t expanded = inlined_frames(s, mod, pc, &base, out, cap);
  return expanded ? expanded : 1;
}

/* LOOKUP, with each frame's language named. */
static size_t lookup_named(pw__symbolizer *s, uintptr_t pc, pw__frame *out, size_t cap) {
  size_t n = lookup(s, pc, out, cap);
  for (size_t i = 0; i < n; i++) name_language(s, &out[i]);
  return n;
}

/* LOOKUP, once per address for the symbolizer's life. */
static size_t lookup_cached(pw__symbolizer *s, uintptr_t pc, pw__frame *out, size_t cap) {
  cached_address *c = NULL;
  if (s) HASH_FIND(hh, s->cache, &pc, sizeof(pc), c);
  if (!c) {
    pw__frame found[PW__MAX_INLINED + 1];
    size_t n = lookup_named(s, pc, found, PW__MAX_INLINED + 1);
    if (!s || !(c = malloc(sizeof(*c))) || !(c->frames = malloc(n * sizeof(pw__frame)))) {
      free(c);
      n = n < cap ? n : cap;
      if (n) memcpy(out, found, n * sizeof(pw__frame));
      return n;
    }
    c->pc = pc;
    c->count = n;
    if (n) memcpy(c->frames, found, n * sizeof(pw__frame));
    HASH_ADD(hh, s->cache, pc, sizeof(c->pc), c);
  }
  size_t n = c->count < cap ? c->count : cap;
  if (n) memcpy(out, c->frames, n * sizeof(pw__frame));
  return n;
}

size_t pw__symbolize(pw__symbolizer *s, const uintptr_t *addrs, size_t n, pw__frame *out,
                     size_t cap) {
  size_t written = 0;
  for (size_t i = 0; i < n && written < cap; i++) {
    if (pw__is_source_frame(addrs[i])) {
      /* Interned when captured; the table's strings live as long as the
       * process. */
      const pw__source_frame *source = pw__source_frame_lookup(addrs[i]);
      pw__frame *f = &out[written++];
      *f = (pw__frame){.interpreted = true, .language = "?"};
      if (source)
        *f = (pw__frame){source->function, source->file, source->line, source->module, 0,
                         source->language, true};
      continue;
    }
    written += lookup_cached(s, addrs[i] ? addrs[i] - 1 : 0, out + written, cap - written);
  }
  return written;
}

void pw__symbolizer_free(pw__symbolizer *s) {
  if (!s) return;
  if (s->dwfl) s->dw->dwfl_end(s->dwfl);
  cached_address *c, *tmp;
  HASH_ITER(hh, s->cache, c, tmp) {
    HASH_DEL(s->cache, c);
    free(c->frames);
    free(c);
  }
  while (s->strings) {
    string_node *next = s->strings->next;
    free(s->strings);
    s->strings = next;
  }
  free(s);
}
