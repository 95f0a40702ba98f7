/* The environment `poolwatch run` gives the program: options, the preload,
 * the output directory, and each language's start-up hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/buf.h"
#include "common/options.h"
#include "run.h"

/* The directory of poolwatch's support for LANGUAGE (shim/lang/LANGUAGE),
 * poolwatch/LANGUAGE beside the library in the build tree, LANGUAGE beside
 * it once installed (the library sits in LIBDIR/poolwatch); NULL when
 * neither is there. */
static char *support_dir(const char *library, const char *language) {
  const char *slash = strrchr(library, '/');
  if (!slash) return NULL;
  static const char *const layouts[] = {"%.*s/poolwatch/%s", "%.*s/%s"};
  for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
    pw__buf path;
    pw__buf_init(&path);
    pw__buf_printf(&path, layouts[i], (int)(slash - library), library, language);
    struct stat st;
    if (path.data && stat(path.data, &st) == 0 && S_ISDIR(st.st_mode)) return path.data;
    pw__buf_free(&path);
  }
  return NULL;
}

/* Puts FIRST before VARIABLE's value, joined by SEPARATOR. */
static bool prepend(const char *variable, const char *first, const char *separator) {
  const char *old = getenv(variable);
  pw__buf value;
  pw__buf_init(&value);
  pw__buf_puts(&value, first);
  if (old && *old) pw__buf_printf(&value, "%s%s", separator, old);
  bool ok = value.data && setenv(variable, value.data, 1) == 0;
  pw__buf_free(&value);
  return ok;
}

/* Each language loads poolwatch's support through its interpreter's own
 * start-up hook, when the support is there: Python the sitecustomize
 * first on PYTHONPATH, Ruby `-rpoolwatch` in RUBYOPT, Perl `-MPoolwatch`
 * in PERL5OPT. Each loads nothing without the shim in the process. */
static bool add_language_support(const char *library) {
  static const struct {
    const char *language, *variable, *format, *separator;
  } hooks[] = {
      {"python", "PYTHONPATH", "%s", ":"},
      {"ruby", "RUBYOPT", "-I%s -rpoolwatch", " "},
      {"perl", "PERL5OPT", "-I%s -MPoolwatch", " "},
  };
  bool ok = true;
  for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]) && ok; i++) {
    char *dir = support_dir(library, hooks[i].language);
    if (!dir) continue;
    pw__buf value;
    pw__buf_init(&value);
    pw__buf_printf(&value, hooks[i].format, dir);
    ok = value.data && prepend(hooks[i].variable, value.data, hooks[i].separator);
    pw__buf_free(&value);
    free(dir);
  }
  return ok;
}

bool run_set_environment(const run_args *args, const char *library, const char *output_dir) {
  for (size_t i = 0; i < pw__option_count; i++) {
    if (args->values[i] && setenv(pw__option_table[i].name, args->values[i], 1) != 0) return false;
  }
  if (setenv("POOLWATCH_OUTPUT_DIR", output_dir, 1) != 0) return false;
  /* `run` is the gate: the program's own exit status stays its own. */
  unsetenv("POOLWATCH_EXITCODE");
  const char *preload = getenv("LD_PRELOAD");
  pw__buf value;
  pw__buf_init(&value);
  pw__buf_puts(&value, library);
  if (preload && *preload) pw__buf_printf(&value, ":%s", preload);
  bool ok = value.data && setenv("LD_PRELOAD", value.data, 1) == 0;
  pw__buf_free(&value);
  return ok && add_language_support(library);
}
