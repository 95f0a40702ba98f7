/* Perl frames in captured stacks: the subs a Perl 5.36 interpreter runs in
 * the capturing thread, read from its context stack and PL_curcop (what
 * caller() reads), put where libperl's frames stood.
 *
 * Debian's perl is threaded: each interpreter (one per ithread) is found
 * through PL_thr_key, and only the thread that runs it reads it, so no
 * lock is needed. Nothing here calls into libperl: every name is read
 * from the structures (CvGV, which may create a glob, is not used). */
#include <EXTERN.h>
#include <perl.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/source_frames.h"
#include "core/source_walk.h"

/* libperl, found on the first capture with dlsym. A process without Perl
 * pays one failed lookup, once. */
typedef struct perl_library {
  const perl_key *thread_key;       /* PL_thr_key */
  PerlInterpreter *const *first;    /* PL_curinterp: set once perl_alloc ran */
  pw__interpreter_code code;
} perl_library;

static _Atomic int state = PW__INTERPRETER_UNKNOWN;
static perl_library perl;

static bool find_perl(void) {
  const U8 *revision = dlsym(RTLD_DEFAULT, "PL_revision");
  const U8 *version = dlsym(RTLD_DEFAULT, "PL_version");
  /* The interpreter and context layouts read below are those of the
   * headers poolwatch was built with. */
  if (!revision || !version || *revision != PERL_REVISION || *version != PERL_VERSION) return false;
  perl.thread_key = dlsym(RTLD_DEFAULT, "PL_thr_key");
  perl.first = dlsym(RTLD_DEFAULT, "PL_curinterp");
  return perl.thread_key && perl.first &&
         pw__interpreter_code_find(dlsym(RTLD_DEFAULT, "Perl_runops_standard"), false, &perl.code);
}

/* This thread's interpreter while it runs Perl code, or NULL: before the
 * first interpreter exists (PL_thr_key is not created yet), in a thread
 * with no interpreter, while one is built, and in global destruction,
 * which frees the context stacks this reads (the DESTROY methods that
 * close what a program left open run then; closes need no stack). */
static PerlInterpreter *current_interpreter(void) {
  if (!pw__interpreter_found(&state, find_perl) || !*perl.first) return NULL;
  PerlInterpreter *my_perl = pthread_getspecific(*perl.thread_key);
  if (!my_perl || !my_perl->Icurstackinfo || !my_perl->Icurcop) return NULL;
  if (my_perl->Iphase == PERL_PHASE_CONSTRUCT || my_perl->Iphase == PERL_PHASE_DESTRUCT)
    return NULL;
  return my_perl;
}

static bool perl_active(void) { return current_interpreter() != NULL; }

/* ---- one frame ---------------------------------------------------------- */

/* The name of CV as caller() gives it: Package::sub, Package::__ANON__. */
static void sub_name(const CV *cv, char *out, size_t size) {
  const char *name = NULL, *package = NULL;
  HV *stash = NULL;
  if (cv && SvTYPE(cv) == SVt_PVCV) {
    if (CvNAMED(cv)) { /* a lexical sub: named by a HEK, no glob */
      name = HEK_KEY(CvNAME_HEK((CV *)cv));
      stash = CvSTASH(cv);
    } else {
      GV *gv = ((XPVCV *)MUTABLE_PTR(SvANY(cv)))->xcv_gv_u.xcv_gv;
      if (gv && isGV_with_GP(gv)) {
        name = GvNAME(gv);
        stash = GvSTASH(gv);
      }
    }
  }
  if (stash && SvTYPE(stash) == SVt_PVHV) package = HvNAME_get(stash);
  if (package)
    snprintf(out, size, "%s::%s", package, name ? name : "__ANON__");
  else
    snprintf(out, size, "%s", name ? name : "?");
}

/* Where CPAN and packaged modules live (Debian's /usr/share/perl5 and
 * /usr/lib/x86_64-linux-gnu/perl5/5.36, other systems' vendor_perl and
 * site_perl); the core library is the interpreter's. */
static const char *const library_roots[] = {"/perl5/5.36/", "/perl5/", "/vendor_perl/",
                                            "/site_perl/"};

static uintptr_t intern_frame(const CV *cv, const char *file, int line) {
  char function[256], module[PW__SOURCE_PATH_MAX];
  if (cv)
    sub_name(cv, function, sizeof(function));
  else
    snprintf(function, sizeof(function), "main"); /* the program's top level */
  pw__source_module(file, library_roots, sizeof(library_roots) / sizeof(library_roots[0]),
                    perl.code.path, module, sizeof(module));
  pw__source_frame source = {"perl", function, file, line, module};
  return pw__source_frame_intern(&source);
}

/* The frame of CV (NULL: the top level) at COP, the statement it runs. */
static uintptr_t source_word(const CV *cv, const COP *cop) {
  if (!cop) return PW__SOURCE_HIDDEN;
  const char *file = CopFILE(cop);
  int line = (int)CopLINE(cop);
  pw__source_key key = {{(uintptr_t)cv, (uintptr_t)cop, (uintptr_t)file, (uintptr_t)line,
                         cv ? (uintptr_t)((XPVCV *)MUTABLE_PTR(SvANY(cv)))->xcv_gv_u.xcv_gv : 0}};
  uintptr_t word = pw__source_cache_find(&key);
  if (word) return word;
  word = intern_frame(cv, file ? file : "?", line);
  if (word) pw__source_cache_store(&key, word);
  return word;
}

/* ---- merging ------------------------------------------------------------ */

/* The innermost sub runs at PL_curcop; each sub context keeps the
 * statement that called it (blk_oldcop), which is where its caller is.
 * Stack infos (one more for a sort block, a signal handler, tied
 * variables) chain outwards. Evals and loops are not frames, as in
 * caller(). */
static void read_perl_stack(PerlInterpreter *my_perl, pw__source_stack *s) {
  pw__source_stack_init(s, false);
  const COP *cop = PL_curcop;
  int guard = 0;
  for (const PERL_SI *si = PL_curstackinfo; si && guard < 64; si = si->si_prev, guard++) {
    if (!si->si_cxstack) continue;
    for (I32 i = si->si_cxix; i >= 0; i--) {
      const PERL_CONTEXT *cx = &si->si_cxstack[i];
      if (CxTYPE(cx) != CXt_SUB && CxTYPE(cx) != CXt_FORMAT) continue;
      if (!pw__source_push(s, source_word(cx->blk_sub.cv, cop))) return;
      cop = cx->blk_oldcop;
    }
  }
  pw__source_push(s, source_word(NULL, cop));
}

/* Perl gives no sign of which native runops call ran which subs (XS such
 * as DBI's dispatcher calls back into Perl), so they all stand where the
 * innermost libperl frame stood. */
static const pw__interpreter_code *perl_read(pw__source_stack *stack) {
  PerlInterpreter *my_perl = current_interpreter();
  if (!my_perl) return NULL;
  read_perl_stack(my_perl, stack);
  return &perl.code;
}

static const pw__source_walker walker = {"perl", perl_active, perl_read};

/* Registration only stores a pointer; libperl is looked for on the first
 * capture. */
__attribute__((constructor)) static void register_perl(void) { pw__source_walker_register(&walker); }
