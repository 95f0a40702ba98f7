#include "symbolize.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Strings handed out are copied into a list freed with the symbolizer,
 * since libdw's own strings die with its session. */
typedef struct string_node {
  struct string_node *next;
  char text[];
} string_node;

struct pw__symbolizer {
  Dwfl *dwfl;
  string_node *strings;
  char exe[4096];
};

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

static const Dwfl_Callbacks callbacks = {
  .find_elf = dwfl_linux_proc_find_elf,
  .find_debuginfo = dwfl_standard_find_debuginfo,
};

pw__symbolizer *pw__symbolizer_new(void) {
  pw__symbolizer *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  ssize_t n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
  s->exe[n > 0 ? n : 0] = '\0';
  s->dwfl = dwfl_begin(&callbacks);
  if (s->dwfl) {
    if (dwfl_linux_proc_report(s->dwfl, getpid()) != 0 ||
        dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
      dwfl_end(s->dwfl);
      s->dwfl = NULL;
    }
  }
  return s;
}

void pw__symbolize(pw__symbolizer *s, const uintptr_t *addrs, size_t n, pw__frame *out) {
  for (size_t i = 0; i < n; i++) {
    uintptr_t pc = addrs[i] ? addrs[i] - 1 : 0;
    pw__frame *f = &out[i];
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
    if (!s || !s->dwfl) continue;
    Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
    if (!mod) continue;
    const char *name = dwfl_module_addrname(mod, pc);
    if (name) f->function = keep(s, name);
    Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
    if (line) {
      int lineno = 0;
      const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
      if (file) {
        f->file = keep(s, file);
        f->line = lineno;
      }
    }
  }
}

void pw__symbolizer_free(pw__symbolizer *s) {
  if (!s) return;
  if (s->dwfl) dwfl_end(s->dwfl);
  while (s->strings) {
    string_node *next = s->strings->next;
    free(s->strings);
    s->strings = next;
  }
  free(s);
}
