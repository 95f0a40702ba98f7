/* elfutils' libdw, loaded on first use. Linking it would map libdw and its
 * five dependencies into every process that inherits the preload (a shell,
 * make, a compiler), about a millisecond each at start-up; only a process
 * that writes a report needs it. */
#ifndef POOLWATCH_LIBDW_LOADER_H
#define POOLWATCH_LIBDW_LOADER_H

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#define PW__LIBDW_FUNCTIONS(X)                                                          \
  X(dwfl_begin) X(dwfl_end) X(dwfl_linux_proc_report) X(dwfl_report_end)               \
  X(dwfl_linux_proc_find_elf) X(dwfl_standard_find_debuginfo) X(dwfl_addrmodule)       \
  X(dwfl_build_id_find_debuginfo)                                                      \
  X(dwfl_module_addrname) X(dwfl_module_getsrc) X(dwfl_lineinfo) X(dwfl_module_addrdie) \
  X(dwarf_getscopes) X(dwarf_getscopes_die) X(dwarf_tag) X(dwarf_attr)                 \
  X(dwarf_attr_integrate) X(dwarf_formstring) X(dwarf_formudata) X(dwarf_getsrcfiles)  \
  X(dwarf_filesrc)

typedef struct pw__libdw {
#define PW__LIBDW_FIELD(name) __typeof__(name) *name;
  PW__LIBDW_FUNCTIONS(PW__LIBDW_FIELD)
#undef PW__LIBDW_FIELD
} pw__libdw;

/* The loaded library, or NULL when it is not installed (reports then show
 * modules and offsets, and exported function names only). */
const pw__libdw *pw__libdw_load(void);

#endif
